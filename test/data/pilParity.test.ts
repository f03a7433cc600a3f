// RandAugment's image ops against Pillow itself, byte for byte (Pillow for /usr/bin/python3: Debian python3-pil,
// which scripts/setup.sh installs).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/data/imageOps.js';
import { KeyedRng } from '../../src/data/rng.js';
import { PYTHON, pythonModule, requireTool } from '../helpers/requireTool.js';
import { tmpDir } from './helpers.js';

beforeAll(() => requireTool(pythonModule('PIL', 'python3-pil')));
const t = tmpDir('pil');
afterAll(t.cleanup);

const W = 37;
const H = 29;
const fill: [number, number, number] = [124, 116, 104];

const PY = `
import sys
from PIL import Image, ImageOps, ImageEnhance
d = sys.argv[1]
img = Image.frombytes('RGB', (${W}, ${H}), open(d + '/in.raw', 'rb').read())
B = Image.BICUBIC; f = (124, 116, 104)
cases = {
  'autocontrast': ImageOps.autocontrast(img), 'equalize': ImageOps.equalize(img), 'invert': ImageOps.invert(img),
  'posterize2': ImageOps.posterize(img, 2), 'solarize26': ImageOps.solarize(img, 26),
  'color181': ImageEnhance.Color(img).enhance(1.81), 'color019': ImageEnhance.Color(img).enhance(0.19),
  'contrast181': ImageEnhance.Contrast(img).enhance(1.81), 'contrast019': ImageEnhance.Contrast(img).enhance(0.19),
  'brightness181': ImageEnhance.Brightness(img).enhance(1.81), 'sharp181': ImageEnhance.Sharpness(img).enhance(1.81),
  'sharp019': ImageEnhance.Sharpness(img).enhance(0.19),
  'shearx': img.transform(img.size, Image.AFFINE, (1, 0.27, 0, 0, 1, 0), resample=B, fillcolor=f),
  'sheary': img.transform(img.size, Image.AFFINE, (1, 0, 0, -0.27, 1, 0), resample=B, fillcolor=f),
  'translatex': img.transform(img.size, Image.AFFINE, (1, 0, 16.65, 0, 1, 0), resample=B, fillcolor=f),
  'translatey': img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, -11.3), resample=B, fillcolor=f),
  'rotate27': img.rotate(27, resample=B, fillcolor=f), 'rotatem13': img.rotate(-13.3, resample=B, fillcolor=f),
}
for k, v in cases.items():
  open(d + '/pil_' + k + '.raw', 'wb').write(v.tobytes())
`;

describe('image ops match Pillow exactly', () => {
  it('every RandAugment op', () => {
    const r = new KeyedRng([5]);
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(255, 20 + ((i * 7) % 200) + r.int(0, 30));
    const img = { data, width: W, height: H };
    writeFileSync(path.join(t.dir, 'in.raw'), data);
    const py = spawnSync(PYTHON, ['-c', PY, t.dir], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const ours: Record<string, ops.RgbImage> = {
      autocontrast: ops.autoContrast(img), equalize: ops.equalize(img), invert: ops.invert(img), posterize2: ops.posterize(img, 2),
      solarize26: ops.solarize(img, 26), color181: ops.enhanceColor(img, 1.81), color019: ops.enhanceColor(img, 0.19),
      contrast181: ops.enhanceContrast(img, 1.81), contrast019: ops.enhanceContrast(img, 0.19), brightness181: ops.enhanceBrightness(img, 1.81),
      sharp181: ops.enhanceSharpness(img, 1.81), sharp019: ops.enhanceSharpness(img, 0.19),
      shearx: ops.affine(img, [1, 0.27, 0, 0, 1, 0], fill), sheary: ops.affine(img, [1, 0, 0, -0.27, 1, 0], fill),
      translatex: ops.affine(img, [1, 0, 16.65, 0, 1, 0], fill), translatey: ops.affine(img, [1, 0, 0, 0, 1, -11.3], fill),
      rotate27: ops.rotate(img, 27, fill), rotatem13: ops.rotate(img, -13.3, fill),
    };
    const mismatched: string[] = [];
    for (const [name, out] of Object.entries(ours)) {
      const pil = new Uint8Array(readFileSync(path.join(t.dir, `pil_${name}.raw`)));
      let diff = 0;
      for (let i = 0; i < pil.length; i++) if (pil[i] !== out.data[i]) diff++;
      if (diff > 0) mismatched.push(`${name}: ${diff} bytes differ`);
    }
    expect(mismatched).toEqual([]);
  });
});
