// Reads and validates a run directory's log.jsonl and config.yaml.
import { stat } from 'node:fs/promises';
import { errnoOf, reasonOf } from '../io/fileProblem.js';
import { NotRegularFileError, readRegularFile } from '../io/regularFile.js';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { EpochRecord, LogRecord, StepRecord, SummaryRecord, TeacherCheckRecord } from '../log/records.js';

export type RunLogErrorCode = 'MDISTILL_RUN_NOT_FOUND' | 'MDISTILL_BAD_RUN_LOG' | 'MDISTILL_BAD_RUN_CONFIG';

export class RunLogError extends Error {
  constructor(
    readonly code: RunLogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RunLogError';
  }
}

export interface RunLog {
  /** Every record in file order. */
  records: LogRecord[];
  /**
   * The run as it stands: the last record for each step (epoch) number, in step (epoch) order. A resumed run
   * logs again the steps after its checkpoint; the later records replace those of the interrupted attempt.
   */
  steps: StepRecord[];
  epochs: EpochRecord[];
  /** The last teacher check, if any. */
  teacher?: TeacherCheckRecord;
  /** The last summary; absent while a run is going or after it was killed. */
  summary?: SummaryRecord;
  /** Things the reader tolerated, e.g. a torn last line. */
  warnings: string[];
}

export interface RunConfig {
  /** The YAML as written, for display. */
  text: string;
  value: Record<string, unknown>;
}

export interface RunDir {
  dir: string;
  logPath: string;
  configPath: string;
  log: RunLog;
  config: RunConfig;
}

export const RUN_LOG_FILE = 'log.jsonl';
export const RUN_CONFIG_FILE = 'config.yaml';

// ---- record validation -------------------------------------------------------------------------------------

type Check = ((value: unknown, field: string) => string | null) & { optional?: true };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const num: Check = (v, f) => (typeof v === 'number' && Number.isFinite(v) ? null : `field '${f}' must be a number, got ${describe(v)}`);
const str: Check = (v, f) => (typeof v === 'string' ? null : `field '${f}' must be a string, got ${describe(v)}`);

function optional(check: Check): Check {
  const c: Check = (v, f) => check(v, f);
  c.optional = true;
  return c;
}

function obj(fields: Record<string, Check>): Check {
  return (v, f) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `field '${f}' must be an object, got ${describe(v)}`;
    const o = v as Record<string, unknown>;
    for (const [key, check] of Object.entries(fields)) {
      const sub = f ? `${f}.${key}` : key;
      if (o[key] === undefined) {
        if (check.optional) continue;
        return `field '${sub}' is missing`;
      }
      const err = check(o[key], sub);
      if (err) return err;
    }
    return null;
  };
}

const evalResult = obj({ acc1: num, acc5: num, loss: num, samples: num });

const recordChecks: Record<LogRecord['kind'], Check> = {
  step: obj({
    time: str,
    epoch: num,
    step: num,
    lr: num,
    loss: obj({ total: num, base: num, kd: num, sample: num, patch: num, rand: num }),
    imgPerS: num,
  }),
  epoch: obj({
    time: str,
    epoch: num,
    step: num,
    seconds: num,
    imgPerS: num,
    train: obj({ loss: num, acc1: optional(num) }),
    eval: optional(evalResult),
    evalEma: optional(evalResult),
  }),
  teacher: obj({ time: str, eval: evalResult, chance: num, warning: optional(str) }),
  summary: obj({
    time: str,
    seconds: num,
    best: obj({ epoch: num, acc1: num }),
    final: obj({ eval: optional(evalResult), evalEma: optional(evalResult) }),
    badSamples: num,
  }),
};

const KINDS = Object.keys(recordChecks) as LogRecord['kind'][];

function validateRecord(value: unknown): { record: LogRecord } | { error: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: `expected a JSON object, got ${describe(value)}` };
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(KINDS as string[]).includes(kind)) {
    return { error: `field 'kind' must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got ${describe(kind)}` };
  }
  const err = recordChecks[kind as LogRecord['kind']](value, '');
  return err ? { error: `${kind} record: ${err}` } : { record: value as LogRecord };
}

// ---- log.jsonl ---------------------------------------------------------------------------------------------

const EXPECTED_LOG = `one JSON object per line, each with "kind" one of ${KINDS.join(', ')} (written by mdistill train)`;

function latestBy<T>(records: T[], key: (r: T) => number): T[] {
  const byKey = new Map<number, T>();
  for (const r of records) byKey.set(key(r), r);
  return [...byKey.values()].sort((a, b) => key(a) - key(b));
}

/** Parses the text of a log.jsonl; `source` names the file in errors. */
export function parseRunLog(text: string, source: string): RunLog {
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  if (endsWithNewline) lines.pop();
  const log: RunLog = { records: [], steps: [], epochs: [], warnings: [] };
  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      // The writer ends every record with a newline; a last line without one is a write cut short by a crash.
      if (i === lines.length - 1 && !endsWithNewline) {
        log.warnings.push(`${source} line ${lineNo}: ignored an incomplete last line (the run was probably interrupted while writing it)`);
        return;
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new RunLogError('MDISTILL_BAD_RUN_LOG', `${source} line ${lineNo}: not valid JSON (${reason}); expected ${EXPECTED_LOG}`);
    }
    const result = validateRecord(value);
    if ('error' in result) throw new RunLogError('MDISTILL_BAD_RUN_LOG', `${source} line ${lineNo}: ${result.error}`);
    const r = result.record;
    log.records.push(r);
    if (r.kind === 'step') log.steps.push(r);
    else if (r.kind === 'epoch') log.epochs.push(r);
    else if (r.kind === 'teacher') log.teacher = r;
    else log.summary = r;
  });
  if (log.records.length === 0) {
    throw new RunLogError('MDISTILL_BAD_RUN_LOG', `${source} has no records; expected ${EXPECTED_LOG}`);
  }
  log.steps = latestBy(log.steps, (r) => r.step);
  log.epochs = latestBy(log.epochs, (r) => r.epoch);
  return log;
}

async function readText(file: string, what: string, hint: string): Promise<string> {
  try {
    return (await readRegularFile(file)).toString('utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw new RunLogError('MDISTILL_RUN_NOT_FOUND', `${file} does not exist: expected ${what}. ${hint}`);
    const reason = err instanceof NotRegularFileError ? `it is ${err.kind}, not a regular file` : reasonOf(err).what;
    throw new RunLogError('MDISTILL_RUN_NOT_FOUND', `could not read ${file}: ${reason}. Expected ${what}.`);
  }
}

export async function readRunLog(logPath: string): Promise<RunLog> {
  const text = await readText(logPath, `the run's log, ${EXPECTED_LOG}`, 'Is this the output directory of an mdistill train run?');
  return parseRunLog(text, logPath);
}

// ---- config.yaml -------------------------------------------------------------------------------------------

export function parseRunConfig(text: string, source: string): RunConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? ` line ${e.linePos[0].line}` : '';
    throw new RunLogError('MDISTILL_BAD_RUN_CONFIG', `${source}${where}: not valid YAML (${e.message.split('\n')[0]})`);
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RunLogError('MDISTILL_BAD_RUN_CONFIG', `${source}: expected a YAML mapping of configuration keys, got ${describe(value)}`);
  }
  return { text, value: value as Record<string, unknown> };
}

export async function readRunConfig(configPath: string): Promise<RunConfig> {
  const text = await readText(configPath, 'the resolved configuration (YAML)', 'mdistill train writes it when a run starts.');
  return parseRunConfig(text, configPath);
}

// ---- the directory -----------------------------------------------------------------------------------------

export async function readRunDir(dir: string): Promise<RunDir> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new RunLogError('MDISTILL_RUN_NOT_FOUND', `run directory ${dir} does not exist; pass the --output-dir of an mdistill train run`);
  }
  if (!isDir) throw new RunLogError('MDISTILL_RUN_NOT_FOUND', `${dir} is not a directory; pass the --output-dir of an mdistill train run`);
  const logPath = path.join(dir, RUN_LOG_FILE);
  const configPath = path.join(dir, RUN_CONFIG_FILE);
  const [log, config] = await Promise.all([readRunLog(logPath), readRunConfig(configPath)]);
  return { dir, logPath, configPath, log, config };
}
