// The wrapper prefixes a state dict's names may carry: DataParallel's `module.` and a wrapper's `model.` (in any
// nesting), stripped as timm's clean_state_dict and the official code do.
import type { TensorEntry } from '../io/safetensors.js';
import { WeightsError } from './weightsError.js';

const PREFIXES = ['module.', 'model.'];

/** Strips DataParallel's `module.` and wrapper `model.` prefixes (in any nesting), as timm's clean_state_dict does. */
export function stripPrefixes(name: string): string {
  let out = name;
  for (let changed = true; changed;) {
    changed = false;
    for (const p of PREFIXES) {
      if (out.startsWith(p)) {
        out = out.slice(p.length);
        changed = true;
      }
    }
  }
  return out;
}

/** The state dict with every name stripped; two names that become one are an error naming both. */
export function withoutPrefixes(tensors: Map<string, TensorEntry>, file: string): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [raw, t] of tensors) {
    const name = stripPrefixes(raw);
    if (out.has(name)) throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${file}: '${raw}' names '${name}' a second time once prefixes are stripped`);
    out.set(name, t);
  }
  return out;
}
