// One rank of test/dist/rankKeys.test.ts, started by launchLocal (node rankProbe.mjs <outDir>): reads where the
// launcher put it, the device it would train on, and the mixed soft targets of its first batches (a full epoch, and
// again resumed after two batches); writes them to <outDir>/rank<RANK>.json. Runs the compiled dist/.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataLoader } from '../../dist/data/dataLoader.js';
import { syntheticDataset } from '../../dist/data/syntheticDataset.js';
import { smallTrainSpec } from '../../dist/data/transformSpec.js';
import { distEnvFrom } from '../../dist/dist/distEnv.js';
import { rankDevice } from '../../dist/dist/rankDevice.js';

const outDir = process.argv[2];
const env = distEnvFrom(process.env);
const deviceOf = (gpus) => {
  try {
    return rankDevice('cuda', env, () => gpus);
  } catch (err) {
    return `error: ${err.message}`;
  }
};

const classes = 5;
const batchSize = 8;
const options = {
  dataset: syntheticDataset({ length: 64, numClasses: classes, height: 8, width: 8, channels: 3, seed: 1 }),
  transform: smallTrainSpec(8, 3, [0.5], [0.25]), batchSize, seed: 42,
  sampler: { shuffle: true, repeats: 1, rank: env.rank, worldSize: env.worldSize, pad: true }, dropLast: true,
  // No smoothing: a row's own label holds lam (its mirror's holds 1 - lam).
  targets: { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, smoothing: 0, numClasses: classes },
  workers: 0, prefetch: 1,
};

async function batches(start) {
  const loader = new DataLoader(options);
  const out = [];
  for await (const b of loader.epoch(1, start)) {
    out.push({ index: b.index, labels: Array.from(b.labels), targets: Array.from(b.targets), images: Array.from(b.images.subarray(0, 16)) });
    b.release();
    if (out.length === 3) break;
  }
  await loader.close();
  return out;
}

const report = {
  rank: env.rank, localRank: env.localRank, worldSize: env.worldSize, threads: process.env.MDISTILL_THREADS,
  deviceWithTwoGpus: deviceOf(2), deviceWithOneGpu: deviceOf(1),
  full: await batches(0), resumed: await batches(2 * batchSize),
};
writeFileSync(path.join(outDir, `rank${env.rank}.json`), JSON.stringify(report));
