// timm's Mixup in 'batch' mode: one decision per batch (keyed by seed, epoch, batch index and rank), mixing each
// sample with its mirror in the flipped batch, plus label smoothing into soft targets [B, classes].
import { KeyedRng, Stream } from './rng.js';

export interface MixupOptions {
  /** Beta(alpha, alpha) for mixup; 0 disables (DeiT: 0.8). */
  mixupAlpha: number;
  /** Beta(alpha, alpha) for cutmix; 0 disables (DeiT: 1.0). */
  cutmixAlpha: number;
  /** Probability of mixing a batch at all (timm mixup_prob, DeiT: 1.0). */
  prob: number;
  /** With both on, the probability of cutmix rather than mixup (DeiT: 0.5). */
  switchProb: number;
  /** Label smoothing (DeiT: 0.1). */
  smoothing: number;
  numClasses: number;
}

export interface MixDecision {
  /** The weight of the sample itself, after the cutmix area correction; 1 means no mixing. */
  lam: number;
  cutmix: boolean;
  /** The cutmix box [yl, yh) × [xl, xh). */
  box?: { yl: number; yh: number; xl: number; xh: number };
}

export function mixupActive(o: MixupOptions): boolean {
  return o.prob > 0 && (o.mixupAlpha > 0 || o.cutmixAlpha > 0);
}

/** timm's rand_bbox + cutmix_bbox_and_lam (correct_lam=True): the box from lam and the lam of the clipped box. */
export function cutmixBox(h: number, w: number, lam: number, rng: KeyedRng): { box: { yl: number; yh: number; xl: number; xh: number }; lam: number } {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(h * ratio);
  const cutW = Math.trunc(w * ratio);
  const cy = rng.int(0, h - 1);
  const cx = rng.int(0, w - 1);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const yl = clip(cy - Math.floor(cutH / 2), h);
  const yh = clip(cy + Math.floor(cutH / 2), h);
  const xl = clip(cx - Math.floor(cutW / 2), w);
  const xh = clip(cx + Math.floor(cutW / 2), w);
  return { box: { yl, yh, xl, xh }, lam: 1 - ((yh - yl) * (xh - xl)) / (h * w) };
}

/**
 * The key of a batch's decision. Each rank draws its own, as the official code seeds each process with seed + rank;
 * rank 0's key is the single-process one, so a one-process run draws what it always drew.
 */
export function mixKey(seed: number, epoch: number, batch: number, rank: number): number[] {
  return rank === 0 ? [Stream.mixup, seed, epoch, batch] : [Stream.mixup, seed, epoch, batch, rank];
}

/** The per-batch decision of one rank, drawn in timm's order. */
export function mixDecision(o: MixupOptions, seed: number, epoch: number, batch: number, rank: number, h: number, w: number): MixDecision {
  if (!mixupActive(o)) return { lam: 1, cutmix: false };
  const rng = new KeyedRng(mixKey(seed, epoch, batch, rank));
  if (!(rng.float() < o.prob)) return { lam: 1, cutmix: false };
  let cutmix: boolean;
  if (o.mixupAlpha > 0 && o.cutmixAlpha > 0) cutmix = rng.float() < o.switchProb;
  else cutmix = o.cutmixAlpha > 0;
  const alpha = cutmix ? o.cutmixAlpha : o.mixupAlpha;
  const lam = rng.beta(alpha, alpha);
  if (lam === 1) return { lam: 1, cutmix: false };
  if (!cutmix) return { lam, cutmix: false };
  const c = cutmixBox(h, w, lam, rng);
  return { lam: c.lam, cutmix: true, box: c.box };
}

/**
 * Mixes images [B, C, H, W] in place with the flipped batch (sample i with B-1-i). Pairs are updated together,
 * so no copy of the batch is needed.
 */
export function applyMix(images: Float32Array, b: number, c: number, h: number, w: number, d: MixDecision): void {
  if (d.lam === 1) return;
  const per = c * h * w;
  for (let i = 0; i < Math.floor(b / 2); i++) {
    const j = b - 1 - i;
    const oi = i * per;
    const oj = j * per;
    if (d.cutmix) {
      const { yl, yh, xl, xh } = d.box!;
      for (let k = 0; k < c; k++) {
        for (let y = yl; y < yh; y++) {
          const row = (k * h + y) * w;
          for (let x = xl; x < xh; x++) {
            const t = images[oi + row + x];
            images[oi + row + x] = images[oj + row + x];
            images[oj + row + x] = t;
          }
        }
      }
    } else {
      const lam = d.lam;
      const mu = 1 - lam;
      for (let p = 0; p < per; p++) {
        const a = images[oi + p];
        const bb = images[oj + p];
        images[oi + p] = lam * a + mu * bb;
        images[oj + p] = lam * bb + mu * a;
      }
    }
  }
  // An odd batch's middle sample mixes with itself: unchanged.
}

/** timm's mixup_target: smoothed one-hot of y and of the flipped y, weighted lam / 1-lam, into out [B, K]. */
export function mixTargets(labels: Int32Array, b: number, numClasses: number, smoothing: number, lam: number, out: Float32Array): void {
  const off = smoothing / numClasses;
  const on = 1 - smoothing + off;
  out.fill(off, 0, b * numClasses);
  for (let i = 0; i < b; i++) {
    const row = i * numClasses;
    out[row + labels[i]] += lam * (on - off);
    out[row + labels[b - 1 - i]] += (1 - lam) * (on - off);
  }
}
