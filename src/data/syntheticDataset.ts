// A seeded synthetic dataset for tests and benchmarks: each class has its own base colour and stripe
// frequency, plus per-sample noise, so a model can learn it and every sample is reproducible.
import { type MemoryDataset, sharedBytes, sharedInt32 } from './dataset.js';
import { KeyedRng, Stream } from './rng.js';

export interface SyntheticOptions {
  length: number;
  numClasses: number;
  height: number;
  width: number;
  channels: 1 | 3;
  seed: number;
}

export function syntheticDataset(o: SyntheticOptions): MemoryDataset {
  if (o.length < 1 || o.numClasses < 1 || o.height < 1 || o.width < 1) {
    throw new RangeError(`synthetic dataset needs positive sizes, got ${JSON.stringify(o)}`);
  }
  const per = o.height * o.width * o.channels;
  const pixels = sharedBytes(o.length * per);
  const labels = sharedInt32(o.length);
  for (let i = 0; i < o.length; i++) {
    const rng = new KeyedRng([Stream.synthetic, o.seed, i]);
    const label = i % o.numClasses;
    labels[i] = label;
    const classRng = new KeyedRng([Stream.synthetic, o.seed, 0x7fffffff, label]);
    const base = [classRng.int(0, 255), classRng.int(0, 255), classRng.int(0, 255)];
    const freq = 1 + (label % 7);
    let p = i * per;
    for (let y = 0; y < o.height; y++) {
      for (let x = 0; x < o.width; x++) {
        const stripe = Math.sin(((x + y) * freq * Math.PI) / o.width) * 40;
        for (let c = 0; c < o.channels; c++) {
          const v = base[c] + stripe + (rng.float() - 0.5) * 60;
          pixels[p++] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return {
    kind: 'memory', name: 'synthetic', source: `synthetic(seed=${o.seed})`,
    classes: Array.from({ length: o.numClasses }, (_, k) => `class_${k}`),
    labels, length: o.length, height: o.height, width: o.width, channels: o.channels, pixels,
  };
}
