// Which preset a `train` run starts from when no --config is given: the quickstart (28 px Fashion-MNIST), unless
// --model names a full-size (224 px) preset, as the official command line does; then the paper's ImageNet recipe,
// so that the official line resolves to the official configuration (a 224 px Swin: the Swin recipe).
import { MODEL_PRESETS } from '../model/modelConfig.js';

export const QUICKSTART_PRESET = 'quickstart';
export const PAPER_PRESET = 'deit-tiny-cait-s24';
/** The Swin paper's recipe with the manifold weights of the DeiT one, for a 224 px Swin student. */
export const SWIN_PRESET = 'swin-tiny-swin-small';

export interface BaseConfig {
  /** The --config file or preset the flags apply over. */
  preset: string;
  /** Why, when it was chosen rather than given (for a note). */
  reason?: string;
}

export function baseConfigFor(configFlag: string | undefined, modelFlag: string | undefined): BaseConfig {
  if (configFlag !== undefined) return { preset: configFlag };
  if (modelFlag !== undefined && MODEL_PRESETS[modelFlag]?.imgSize === 224 && MODEL_PRESETS[modelFlag].arch === 'swin') {
    return { preset: SWIN_PRESET, reason: `no --config, and --model ${modelFlag} is a full-size Swin preset: starting from the Swin recipe (configs/${SWIN_PRESET}.yaml)` };
  }
  if (modelFlag !== undefined && MODEL_PRESETS[modelFlag]?.imgSize === 224) {
    return { preset: PAPER_PRESET, reason: `no --config, and --model ${modelFlag} is a full-size 224 px preset: starting from the paper's recipe (configs/${PAPER_PRESET}.yaml)` };
  }
  return { preset: QUICKSTART_PRESET };
}

/** One line for --help. */
export const BASE_CONFIG_HELP = `without --config, the base is configs/${QUICKSTART_PRESET}.yaml (28 px Fashion-MNIST), or configs/${PAPER_PRESET}.yaml ` +
  '(the paper\'s ImageNet recipe) when --model names a 224 px preset, as the official command line does ' +
  `(configs/${SWIN_PRESET}.yaml for a 224 px Swin)`;
