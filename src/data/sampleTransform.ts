// One sample, from the data set to normalized CHW floats in the batch buffer. All randomness comes from the
// generator keyed by (seed, epoch, sample index, repeat), so the result does not depend on which thread runs it.
import { colorJitter } from './colorJitter.js';
import { type ImageDataset, filePath, memoryImage } from './dataset.js';
import { type ImageInput, decodeCropResize, decodeResizeCrop, imageSize, loadImageFile } from './imageDecode.js';
import { flipHorizontal } from './imageOps.js';
import { writeNormalizedChw } from './normalize.js';
import { type RandAugmentConfig, parseRandAugment, randAugment } from './randAugment.js';
import { evalResizeAndCrop, randomResizedCropBox } from './randomResizedCrop.js';
import { randomErase } from './randomErasing.js';
import { KeyedRng, Stream } from './rng.js';
import { centerCropSmall, padCropFlip } from './smallImageTransform.js';
import type { TransformSpec } from './transformSpec.js';

export class SampleTransform {
  private readonly ra: RandAugmentConfig | undefined;

  constructor(readonly dataset: ImageDataset, readonly spec: TransformSpec, readonly seed: number) {
    this.ra = spec.kind === 'deit' && spec.train && spec.autoAugment ? parseRandAugment(spec.autoAugment, spec.mean) : undefined;
    if (spec.kind === 'small' && dataset.kind !== 'memory') {
      throw new RangeError(`the small-image transform needs in-memory images; ${dataset.name} is a file data set (use kind 'deit')`);
    }
  }

  /** Floats per sample in the batch buffer. */
  get sampleSize(): number {
    return this.spec.channels * this.spec.size * this.spec.size;
  }

  private rng(epoch: number, index: number, repeat: number): KeyedRng {
    return new KeyedRng([Stream.sample, this.seed, epoch, index, repeat]);
  }

  /** Writes sample `index` into dst[offset …]; throws if the image cannot be decoded. */
  async write(index: number, epoch: number, repeat: number, dst: Float32Array, offset: number): Promise<void> {
    const s = this.spec;
    const ds = this.dataset;
    const rng = this.rng(epoch, index, repeat);
    if (s.kind === 'small') {
      if (ds.kind !== 'memory') throw new RangeError('small transform on a file data set');
      const src = memoryImage(ds, index);
      const img = s.train
        ? padCropFlip(src, ds.height, ds.width, ds.channels, s.size, s.padding, s.hflip, rng)
        : centerCropSmall(src, ds.height, ds.width, ds.channels, s.size);
      writeNormalizedChw(img, s.size, s.size, ds.channels, dst, offset, s.channels, s.mean, s.std);
    } else {
      const input: ImageInput = ds.kind === 'files'
        ? await loadImageFile(filePath(ds, index))
        : { raw: memoryImage(ds, index), width: ds.width, height: ds.height, channels: ds.channels };
      const dims = await imageSize(input);
      let rgb: Uint8Array;
      if (s.train) {
        const box = randomResizedCropBox(dims.height, dims.width, s.scale, s.ratio, rng);
        rgb = await decodeCropResize(input, dims, box, s.size, s.size);
        let img = { data: rgb, width: s.size, height: s.size };
        if (rng.float() < s.hflip) img = flipHorizontal(img);
        if (this.ra) img = randAugment(img, this.ra, rng).image;
        else if (s.colorJitter > 0) img = colorJitter(img, s.colorJitter, rng);
        rgb = img.data;
      } else {
        const g = evalResizeAndCrop(dims.height, dims.width, s.size, s.evalCropRatio);
        rgb = await decodeResizeCrop(input, g.resizeWidth, g.resizeHeight, g.crop);
      }
      writeNormalizedChw(rgb, s.size, s.size, 3, dst, offset, s.channels, s.mean, s.std);
    }
    if (s.train && s.reprob > 0) randomErase(dst, offset, s.channels, s.size, s.size, { probability: s.reprob }, rng);
  }
}
