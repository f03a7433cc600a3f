import { describe, expect, it } from 'vitest';
import { learningRate, scaledLr } from '../../src/train/lrSchedule.js';

describe('lr schedule', () => {
  const o = { baseLr: 1e-3, warmupLr: 1e-6, minLr: 1e-5, warmupSteps: 10, totalSteps: 110 };
  it('scales the base lr by global batch / 512', () => {
    expect(scaledLr(5e-4, 512)).toBe(5e-4);
    expect(scaledLr(5e-4, 64 * 8)).toBe(5e-4);
    expect(scaledLr(5e-4, 128)).toBe(1.25e-4);
  });
  it('warms up linearly from warmup-lr', () => {
    expect(learningRate(0, o)).toBe(1e-6);
    expect(learningRate(5, o)).toBeCloseTo(1e-6 + (1e-3 - 1e-6) / 2, 15);
  });
  it('follows the cosine after warmup and ends at min-lr', () => {
    const t = 10 / 110;
    expect(learningRate(10, o)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * t)), 15);
    expect(learningRate(60, o)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * 60 / 110)), 15);
    expect(learningRate(110, o)).toBeCloseTo(1e-5, 15);
  });
});
