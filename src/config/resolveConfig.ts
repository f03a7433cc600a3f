// Builds a TrainConfig: schema defaults, then a YAML file (--config), then flags. Every error names the key
// and where it came from, and suggests the closest valid key.
import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { fileKind, fileProblem } from '../io/fileProblem.js';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { didYouMean } from './didYouMean.js';
import { SCHEMA, type ConfigKey, type Field, type TrainConfig } from './schema.js';
import { packageRoot } from '../io/packageRoot.js';
import { parseModelOverrides } from '../model/modelOverrides.js';
import { resolveModel } from '../model/modelConfig.js';

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

/** A value in a message: JSON, except the numbers JSON cannot show (NaN, ±Infinity, which it prints as null). */
function shown(value: unknown): string {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
}

/** Checks (and, for flag strings, converts) one value. `where` says where it came from: a file or '--flag'. */
export function coerceValue(key: ConfigKey, value: unknown, where: string): unknown {
  const field: Field = SCHEMA[key];
  const fail = (): never => {
    throw new ConfigError(`${where}: '${key}' must be ${describe(field)}, got ${shown(value)}`);
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
      if (key === 'model-overrides' || key === 'teacher-overrides') {
        return parseModelOverrides(obj as Record<string, unknown>, fromFlag ? where : `${where}: '${key}'`);
      }
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

/**
 * Reads a pipe without waiting for a writer that never comes: opened non-blocking, a pipe whose writer is there
 * (`--config <(…)`) is read to its end, while a named pipe nobody writes to ends at once, empty.
 */
async function readPipe(file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  try {
    for (;;) {
      const buffer = Buffer.alloc(65536);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of a config file; a pipe (`--config <(…)`) is fine, a directory or a device is not. */
async function readConfigText(file: string, flag: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    throw new ConfigError(fileProblem(err, { path: file, action: 'read it', flag }).message);
  }
  if (info.isDirectory()) {
    throw new ConfigError(`${flag} ${file}: it is a directory; pass a YAML file, or a preset name (${listPresets().join(', ')})`);
  }
  if (!info.isFile() && !info.isFIFO()) {
    throw new ConfigError(`${flag} ${file}: it is ${fileKind(info)}; pass a YAML file (or a pipe, as in --config <(…))`);
  }
  try {
    if (info.isFile()) return await readFile(file, 'utf8');
    const text = await readPipe(file);
    if (text.length === 0) throw new ConfigError(`${flag} ${file}: it is a named pipe with nothing written to it (no writer); pass a YAML file`);
    return text;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(fileProblem(err, { path: file, action: 'read it', flag }).message);
  }
}

export async function loadConfigFile(nameOrPath: string, flag = '--config'): Promise<Partial<TrainConfig>> {
  const file = resolveConfigPath(nameOrPath);
  const text = await readConfigText(file, flag);
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  return parseConfigObject(raw, file);
}

/** defaults ← file ← flags, then the checks that span several keys. */
export async function resolveConfig(options: { configFile?: string; configFlag?: string; flags?: Partial<TrainConfig> }): Promise<TrainConfig> {
  const fromFile = options.configFile ? await loadConfigFile(options.configFile, options.configFlag) : {};
  const config = { ...defaultConfig(), ...fromFile, ...(options.flags ?? {}) } as TrainConfig;
  checkCrossFields(config);
  checkModels(config);
  return config;
}

/** The models exist and can be built at this input size, before any data is read (the data later sets classes and channels). */
function checkModels(config: TrainConfig): void {
  const where = (flag: 'model-overrides' | 'teacher-overrides', name: string) =>
    Object.keys(config[flag]).length ? `'${name}' with --${flag}` : `'${name}'`;
  const fit = (name: string, flag: 'model-overrides' | 'teacher-overrides') => {
    try {
      resolveModel(name, { ...config[flag], imgSize: config['input-size'] }, where(flag, name));
    } catch (err) {
      throw err instanceof Error && !(err as { code?: unknown }).code ? new ConfigError(err.message) : err;
    }
  };
  fit(config.model, 'model-overrides');
  if (config['distillation-type'] !== 'none') fit(config['teacher-model'], 'teacher-overrides');
}

export function checkCrossFields(config: TrainConfig): void {
  // Without a teacher the layer pairs are not used (a preset's pairs need not fit a student trained alone).
  if (config['distillation-type'] !== 'none' && config['s-id'].length !== config['t-id'].length) {
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
