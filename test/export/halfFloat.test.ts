import { expect, it } from 'vitest';
import { floatToHalfBits } from '../../src/io/safetensors.js';
import { floatArrayToHalfBits } from '../../src/export/halfFloat.js';

it('floatArrayToHalfBits gives the same bits as floatToHalfBits, edge cases included', () => {
  const special = [0, -0, 1, -1, 65504, 65520, 65519.99, 1e6, -1e6, Infinity, -Infinity, NaN, 6.1e-5, 6.0e-8, 5.96e-8, 2.98e-8, 2.99e-8, 1e-10,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 1 / 3, Math.PI];
  let s = 12345;
  const random = Array.from({ length: 20000 }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 ** ((s % 48) - 30);
  });
  const values = Float32Array.from([...special, ...random]);
  const bulk = floatArrayToHalfBits(values);
  for (let i = 0; i < values.length; i++) expect(bulk[i], `value ${values[i]}`).toBe(floatToHalfBits(values[i]));
});
