// --model-overrides / --teacher-overrides: ModelConfig fields over a preset, checked like the config's own keys:
// an unknown field gets a did-you-mean, a wrong type names the field and what it got, and the fields the data
// decides (image size, channels, classes) are refused rather than silently replaced.
import { didYouMean } from '../config/didYouMean.js';
import type { ModelConfig } from './modelConfig.js';

type Rule =
  | { kind: 'positive-integer' | 'non-negative-integer' | 'positive-number' | 'non-negative-number' | 'boolean' | 'positive-integer-list' }
  | { kind: 'choice'; choices: readonly string[] }
  | { kind: 'from-data'; instead: string };

const RULES: Record<keyof ModelConfig, Rule> = {
  arch: { kind: 'choice', choices: ['vit', 'cait', 'swin'] },
  imgSize: { kind: 'from-data', instead: 'set --input-size' },
  patchSize: { kind: 'positive-integer' },
  inChans: { kind: 'from-data', instead: 'it follows the data set (1 for Fashion-MNIST and MNIST, 3 otherwise)' },
  numClasses: { kind: 'from-data', instead: 'it follows the data set\'s classes' },
  embedDim: { kind: 'positive-integer' },
  depth: { kind: 'positive-integer' },
  numHeads: { kind: 'positive-integer' },
  mlpRatio: { kind: 'positive-number' },
  qkvBias: { kind: 'boolean' },
  distilled: { kind: 'boolean' },
  depthTokenOnly: { kind: 'non-negative-integer' },
  initValues: { kind: 'non-negative-number' },
  depths: { kind: 'positive-integer-list' },
  stageHeads: { kind: 'positive-integer-list' },
  windowSize: { kind: 'positive-integer' },
};

export const MODEL_FIELDS = Object.keys(RULES) as (keyof ModelConfig)[];

export class ModelOverridesError extends Error {
  readonly code = 'MDISTILL_BAD_CONFIG';
}

/** A value as the user wrote it: `the string "32"`, `null`, `NaN`, `an array`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${JSON.stringify(value).slice(0, 40)})`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function check(key: keyof ModelConfig, value: unknown, where: string): unknown {
  const rule = RULES[key];
  const fail = (expected: string): never => {
    throw new ModelOverridesError(`${where}: '${key}' must be ${expected}, got ${describeValue(value)}`);
  };
  switch (rule.kind) {
    case 'from-data':
      throw new ModelOverridesError(`${where}: '${key}' cannot be overridden: ${rule.instead}`);
    case 'choice':
      if (typeof value !== 'string' || !rule.choices.includes(value)) fail(`one of ${rule.choices.map((c) => `'${c}'`).join(', ')}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      return value;
    case 'positive-integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail('a positive integer');
      return value;
    case 'non-negative-integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail('a non-negative integer');
      return value;
    case 'positive-number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail('a positive number');
      return value;
    case 'non-negative-number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail('a number >= 0');
      return value;
    case 'positive-integer-list':
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) {
        fail('a non-empty list of positive integers, one per stage (e.g. [2, 2, 6, 2])');
      }
      return value;
  }
}

/** Checks the overrides object of `key` ('model-overrides' …) given at `where` (a file or a flag). */
export function parseModelOverrides(raw: Record<string, unknown>, where: string): Partial<ModelConfig> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (!Object.prototype.hasOwnProperty.call(RULES, field)) {
      throw new ModelOverridesError(`${where}: unknown field '${field}'${didYouMean(field, MODEL_FIELDS)}. ` +
        `Fields: ${MODEL_FIELDS.filter((f) => RULES[f].kind !== 'from-data').join(', ')}`);
    }
    out[field] = check(field as keyof ModelConfig, value, where);
  }
  return out as Partial<ModelConfig>;
}
