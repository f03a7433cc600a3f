// `npm run bench -- data [--workers W] [--images 2000] [--batch-size 64] [--no-peer]`: train-transform throughput
// of the data loader (ImageFolder of ~500×375 JPEGs → 224 px DeiT batches) against torchvision's DataLoader with
// W workers in the same invocation, plus the Fashion-MNIST (IDX, 28 px) training batch rate.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parseFlags, peerPython, root } from './common.mjs';
import { DataLoader } from '../dist/data/dataLoader.js';
import { imageFolderDataset } from '../dist/data/imageFolderDataset.js';
import { createLoaders } from '../dist/data/createLoaders.js';
import { deitTrainSpec } from '../dist/data/transformSpec.js';
import { FASHION_MNIST_DIR } from '../dist/data/idxDataset.js';
import { KeyedRng } from '../dist/data/rng.js';

const flags = parseFlags(process.argv.slice(2), { workers: String(os.availableParallelism()), images: '2000', 'batch-size': '64', peer: true });
const W = Number(flags.workers);
const N = Number(flags.images);
const B = Number(flags['batch-size']);
const CLASSES = 10;

/** A photo-like test image: smooth colour fields, a few shapes and sensor noise (so JPEG decoding costs what it does on photos). */
function photo(w, h, seed) {
  const r = new KeyedRng([seed]);
  const px = Buffer.alloc(w * h * 3);
  const c0 = [r.int(0, 255), r.int(0, 255), r.int(0, 255)];
  const c1 = [r.int(0, 255), r.int(0, 255), r.int(0, 255)];
  const blobs = Array.from({ length: 6 }, () => ({ x: r.int(0, w), y: r.int(0, h), rad: r.int(20, 120), c: [r.int(0, 255), r.int(0, 255), r.int(0, 255)] }));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const t = (x + y) / (w + h);
    const o = (y * w + x) * 3;
    for (let c = 0; c < 3; c++) {
      let v = c0[c] * (1 - t) + c1[c] * t;
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.rad ** 2) v = (v + b.c[c]) / 2;
      px[o + c] = Math.max(0, Math.min(255, v + (r.float() - 0.5) * 24));
    }
  }
  return px;
}

async function ensureImageFolder(n) {
  const dir = path.join(os.tmpdir(), 'mdistill-bench', `imagefolder-${n}`);
  const trainDir = path.join(dir, 'train');
  const count = existsSync(trainDir) ? readdirSync(trainDir).reduce((a, c) => a + readdirSync(path.join(trainDir, c)).length, 0) : 0;
  if (count === n) return dir;
  console.error(`bench data: generating ${n} JPEGs (~500×375) under ${dir} (cached for later runs)`);
  const sizes = [[500, 375], [375, 500], [500, 333], [500, 400]];
  for (let i = 0; i < n; i++) {
    const cls = `n${String(i % CLASSES).padStart(8, '0')}`;
    mkdirSync(path.join(trainDir, cls), { recursive: true });
    const [w, h] = sizes[i % sizes.length];
    await sharp(photo(w, h, i), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(trainDir, cls, `img_${i}.jpg`));
  }
  return dir;
}

/** Images per second over one full epoch after a short warm-up epoch slice. */
async function loaderRate(loader) {
  let k = 0;
  for await (const b of loader.epoch(0)) {
    b.release();
    if (++k >= 3) break;
  }
  let n = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of loader.epoch(1)) {
    n += b.shape[0];
    b.release();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { images: n, seconds: s, img_per_s: n / s };
}

const dir = await ensureImageFolder(N);
const ds = await imageFolderDataset({ root: dir, split: 'train' });
const ours = new DataLoader({
  dataset: ds, transform: deitTrainSpec(224), batchSize: B, seed: 0, workers: W, prefetch: Math.max(2, 2 * W), dropLast: true,
  sampler: { shuffle: true, repeats: 1, rank: 0, worldSize: 1, pad: true },
});
const oursRate = await loaderRate(ours);
await ours.close();
console.log(JSON.stringify({ what: 'mdistill imagefolder deit-train 224', workers: W, batch: B, ...oursRate }));

let peer;
if (flags.peer) {
  const r = spawnSync(peerPython(), [path.join(root, 'bench', 'torchvision_data.py'), '--root', path.join(dir, 'train'), '--workers', String(W), '--batch-size', String(B)], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`torchvision peer failed: ${r.stderr.trim().split('\n').slice(-3).join('\n')}\n` +
      'It needs Debian python3-torchvision (apt-get install -y python3-torchvision); or pass --no-peer.');
  }
  peer = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(JSON.stringify(peer));
}

let idx;
if (existsSync(FASHION_MNIST_DIR)) {
  const L = await createLoaders({
    dataset: 'fashion-mnist', inputSize: 28, channels: 1, batchSize: 256, mixup: 0.8, cutmix: 1.0, smoothing: 0.1,
    aa: '', reprob: 0.25, repeatedAug: true, seed: 0, workers: W,
  });
  idx = await loaderRate(L.train);
  await L.close();
  console.log(JSON.stringify({ what: 'mdistill fashion-mnist train 28 (pad-crop, flip, erasing, mixup/cutmix, repeated aug)', workers: W, batch: 256, ...idx }));
}

console.log(JSON.stringify({
  bench: 'data', workers: W, images: N, batch: B,
  mdistill_img_per_s: +oursRate.img_per_s.toFixed(1),
  torchvision_img_per_s: peer ? +peer.img_per_s.toFixed(1) : null,
  ratio_vs_torchvision: peer ? +(oursRate.img_per_s / peer.img_per_s).toFixed(3) : null,
  idx_28px_img_per_s: idx ? Math.round(idx.img_per_s) : null,
  idx_goal_20k_met: idx ? idx.img_per_s >= 20000 : null,
  cores: os.availableParallelism(),
}));
