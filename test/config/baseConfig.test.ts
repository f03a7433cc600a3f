// Which preset `train` starts from without --config.
import { expect, it } from 'vitest';
import { baseConfigFor, PAPER_PRESET, QUICKSTART_PRESET, SWIN_PRESET } from '../../src/config/baseConfig.js';

it('starts from the quickstart, the paper recipe for a 224 px ViT/CaiT, the Swin recipe for a 224 px Swin; --config wins', () => {
  expect(baseConfigFor(undefined, undefined)).toEqual({ preset: QUICKSTART_PRESET });
  expect(baseConfigFor(undefined, 'deit_tiny_patch16_224').preset).toBe(PAPER_PRESET);
  expect(baseConfigFor(undefined, 'swin_tiny_patch4_window7_224')).toMatchObject({ preset: SWIN_PRESET, reason: expect.stringMatching(/Swin recipe \(configs\/swin-tiny-swin-small\.yaml\)/) });
  expect(baseConfigFor('quickstart-swin', 'swin_tiny_patch4_window7_224')).toEqual({ preset: 'quickstart-swin' });
  expect(baseConfigFor(undefined, 'not_a_preset')).toEqual({ preset: QUICKSTART_PRESET });
});
