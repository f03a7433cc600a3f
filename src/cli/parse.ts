// Flag value parsers shared by the commands; each error names the flag.
import { InvalidArgumentError } from 'commander';

export function parsePositiveInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

export function parseNumberList(flag: string): (value: string) => number[] {
  return (value: string) => {
    const parts = value.split(',').map((s) => s.trim());
    const numbers = parts.map(Number);
    if (parts.length === 0 || parts.some((p) => p === '') || numbers.some((n) => !Number.isFinite(n))) {
      throw new InvalidArgumentError(`${flag} must be comma-separated numbers such as 0.485,0.456,0.406, got '${value}'`);
    }
    return numbers;
  };
}
