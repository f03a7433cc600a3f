// Builds a TrainConfig: schema defaults, then a YAML file (--config), then flags. Every error names the key
// and where it came from, and suggests the closest valid key.
import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { didYouMean } from './didYouMean.js';
import { SCHEMA, type ConfigKey, type Field, type TrainConfig } from './schema.js';
import { packageRoot } from '../io/packageRoot.js';

export class ConfigError extends Error {
  readonly code = 'MDISTILL_BAD_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(SCHEMA) as ConfigKey[];

export function defaultConfig(): TrainConfig {
  const out: Record<string, unknown> = {};
  for (const key of KEYS) out[key] = structuredClone(SCHEMA[key].default);
  return out as TrainConfig;
}

export function isConfigKey(key: string): key is ConfigKey {
  return Object.prototype.hasOwnProperty.call(SCHEMA, key);
}

function describe(field: Field): string {
  if (field.choices) return `one of ${field.choices.join(', ')}`;
  const range = field.min !== undefined && field.max !== undefined ? ` in [${field.min}, ${field.max}]`
    : field.min !== undefined ? ` >= ${field.min}` : '';
  const kind = { number: 'a number', integer: 'an integer', boolean: 'true or false', string: 'a string', 'int-list': 'a list of integers', 'json-object': 'an object' }[field.type];
  return `${kind}${range}${field.nullable ? ' (or null)' : ''}`;
}

/** Checks (and, for flag strings, converts) one value. `where` says where it came from: a file or '--flag'. */
export function coerceValue(key: ConfigKey, value: unknown, where: string): unknown {
  const field: Field = SCHEMA[key];
  const fail = (): never => {
    throw new ConfigError(`${where}: '${key}' must be ${describe(field)}, got ${JSON.stringify(value)}`);
  };
  const fromFlag = typeof value === 'string' && where.startsWith('--');
  if (value === null || (fromFlag && (value === 'null' || value === 'none') && field.nullable)) {
    return field.nullable ? null : fail();
  }
  switch (field.type) {
    case 'number':
    case 'integer': {
      const n = fromFlag ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || (fromFlag && (value as string).trim() === '')) return fail();
      if (field.type === 'integer' && !Number.isInteger(n)) return fail();
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) return fail();
      return n;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (fromFlag && (value === 'true' || value === 'false')) return value === 'true';
      return fail();
    }
    case 'string': {
      if (typeof value !== 'string' || value === '') return fail();
      if (field.choices && !field.choices.includes(value)) {
        throw new ConfigError(`${where}: '${key}' must be one of ${field.choices.join(', ')}, got '${value}'${didYouMean(value, field.choices)}`);
      }
      return value;
    }
    case 'int-list': {
      const list = fromFlag ? (value as string).split(/[\s,]+/).filter(Boolean).map(Number) : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) return fail();
      return list;
    }
    case 'json-object': {
      let obj = value;
      if (fromFlag) {
        try {
          obj = JSON.parse(value as string);
        } catch {
          throw new ConfigError(`${where}: '${key}' must be a JSON object, e.g. '{"embedDim": 64}'`);
        }
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fail();
      return obj;
    }
  }
}

/** Validates a parsed YAML/JSON object: unknown keys get a did-you-mean. */
export function parseConfigObject(raw: unknown, where: string): Partial<TrainConfig> {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: the top level must be a mapping of keys to values`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const normalised = key.replace(/_/g, '-');
    const canonical = isConfigKey(key) ? key : isConfigKey(normalised) ? normalised : undefined;
    if (!canonical) throw new ConfigError(`${where}: unknown key '${key}'${didYouMean(key, KEYS)}`);
    out[canonical] = coerceValue(canonical, value, where);
  }
  return out as Partial<TrainConfig>;
}

/** A path, or a preset name from configs/ (e.g. `quickstart`). */
export function resolveConfigPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  const preset = path.join(packageRoot, 'configs', `${nameOrPath}.yaml`);
  if (existsSync(preset)) return preset;
  throw new ConfigError(`config '${nameOrPath}' is neither a file nor a preset in ${path.join(packageRoot, 'configs')} (${listPresets().join(', ')})`);
}

export function listPresets(): string[] {
  const dir = path.join(packageRoot, 'configs');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)) : [];
}

export async function loadConfigFile(nameOrPath: string): Promise<Partial<TrainConfig>> {
  const file = resolveConfigPath(nameOrPath);
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  return parseConfigObject(raw, file);
}

/** defaults ← file ← flags, then the checks that span several keys. */
export async function resolveConfig(options: { configFile?: string; flags?: Partial<TrainConfig> }): Promise<TrainConfig> {
  const fromFile = options.configFile ? await loadConfigFile(options.configFile) : {};
  const config = { ...defaultConfig(), ...fromFile, ...(options.flags ?? {}) } as TrainConfig;
  checkCrossFields(config);
  return config;
}

export function checkCrossFields(config: TrainConfig): void {
  if (config['s-id'].length !== config['t-id'].length) {
    throw new ConfigError(`'s-id' has ${config['s-id'].length} blocks but 't-id' has ${config['t-id'].length}: they pair up one to one`);
  }
  if (config['distillation-type'] !== 'none' && config['s-id'].length === 0 && config['distillation-beta'] > 0) {
    throw new ConfigError(`'s-id' is empty: give the layer pairs, or set 'distillation-beta' to 0`);
  }
}

/** Checks the layer pairs against the models' depths (after the models are resolved). */
export function checkLayerPairs(config: TrainConfig, studentDepth: number, teacherDepth: number): void {
  const bad = (ids: number[], depth: number) => ids.filter((i) => i >= depth);
  const s = bad(config['s-id'], studentDepth);
  if (s.length) throw new ConfigError(`'s-id' has ${s.join(', ')} but the student '${config.model}' has blocks 0..${studentDepth - 1}`);
  const t = bad(config['t-id'], teacherDepth);
  if (t.length) throw new ConfigError(`'t-id' has ${t.join(', ')} but the teacher '${config['teacher-model']}' has blocks 0..${teacherDepth - 1}`);
}

export function configToYaml(config: TrainConfig): string {
  return YAML.stringify(config, { lineWidth: 0 });
}
