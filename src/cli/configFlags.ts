// Turns the config schema into commander options, and the parsed options back into config values.
// Only flags the user typed are returned, so they override the --config file and nothing else does.
import { Option, type Command } from 'commander';
import { coerceValue } from '../config/resolveConfig.js';
import { SCHEMA, type ConfigKey, type Field, type TrainConfig } from '../config/schema.js';

function attributeName(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function addConfigFlags(command: Command, keys: ConfigKey[] = Object.keys(SCHEMA) as ConfigKey[]): Command {
  for (const key of keys) {
    const field: Field = SCHEMA[key];
    const help = `${field.help} (default: ${JSON.stringify(field.default)})`;
    if (field.type === 'boolean') {
      command.addOption(new Option(`--${key}`, help));
      command.addOption(new Option(`--no-${key}`, `turn off --${key}`));
    } else if (field.type === 'int-list') {
      command.addOption(new Option(`--${key} <ids...>`, help));
    } else {
      const option = new Option(`--${key} <value>`, help);
      if (field.choices) option.choices(field.choices as string[]);
      command.addOption(option);
    }
  }
  return command;
}

/** The config values given on the command line, validated and converted. */
export function configFromFlags(command: Command, keys: ConfigKey[] = Object.keys(SCHEMA) as ConfigKey[]): Partial<TrainConfig> {
  const opts = command.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = attributeName(key);
    if (command.getOptionValueSource(name) !== 'cli') continue;
    const raw = opts[name];
    const value = Array.isArray(raw) ? raw.join(' ') : typeof raw === 'boolean' ? raw : String(raw);
    out[key] = coerceValue(key, value, `--${key}`);
  }
  return out as Partial<TrainConfig>;
}

/**
 * Keeps only the last occurrence of each list flag (`--s-id 0 1 --s-id 2` means `--s-id 2`), as argparse does for
 * the official code's `nargs='+'` flags; commander would append. A list's values run to the next `-` token.
 */
export function lastListFlagWins(argv: string[]): string[] {
  const lists = new Set(Object.entries(SCHEMA).filter(([, f]) => f.type === 'int-list').map(([k]) => `--${k}`));
  const flagOf = (token: string): string | undefined => {
    const name = token.split('=')[0];
    return lists.has(name) ? name : undefined;
  };
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length; // operands follow a bare `--`
  const last = new Map<string, number>();
  argv.slice(0, end).forEach((token, i) => {
    const flag = flagOf(token);
    if (flag) last.set(flag, i);
  });
  const out: string[] = [];
  for (let i = 0; i < end; i++) {
    const flag = flagOf(argv[i]);
    if (flag === undefined || last.get(flag) === i) {
      out.push(argv[i]);
      continue;
    }
    if (!argv[i].includes('=')) while (i + 1 < end && !argv[i + 1].startsWith('-')) i++;
  }
  return out.concat(argv.slice(end));
}
