import { expect, it } from 'vitest';
import { floatArrayToHalfBits, floatToHalfBits, halfBitsToFloat } from '../../src/io/halfFloat.js';

it('round-trips every finite half value exactly', () => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00);
  const values = Float32Array.from(bits, halfBitsToFloat);
  const back = floatArrayToHalfBits(values);
  for (let i = 0; i < bits.length; i++) {
    // -0 and +0 keep their sign bit
    expect(back[i], `bits ${bits[i].toString(16)}`).toBe(bits[i]);
  }
});

it('rounds to nearest even, overflows to infinity and keeps NaN', () => {
  expect(floatToHalfBits(1)).toBe(0x3c00);
  expect(floatToHalfBits(1.5)).toBe(0x3e00);
  expect(floatToHalfBits(-0.25)).toBe(0xb400);
  expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway, even stays
  expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd rounds up
  expect(floatToHalfBits(65504)).toBe(0x7bff);
  expect(floatToHalfBits(65520)).toBe(0x7c00);
  expect(floatToHalfBits(1e6)).toBe(0x7c00);
  expect(floatToHalfBits(-Infinity)).toBe(0xfc00);
  expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
  expect(floatToHalfBits(2 ** -26)).toBe(0x0000);
  expect(Number.isNaN(halfBitsToFloat(floatToHalfBits(NaN)))).toBe(true);
});
