// Assembles a checked timm state dict into an ONNX model (opset 17, dynamic batch) and encodes it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../io/packageRoot.js';
import type { ModelConfig } from '../model/modelConfig.js';
import { caitGraph } from './caitGraph.js';
import { OnnxGraphBuilder } from './onnxGraphBuilder.js';
import { encodeModel } from './onnxProto.js';
import { swinGraph } from './swinGraph.js';
import { TransformerLayers, type StateDict } from './transformerLayers.js';
import { vitGraph } from './vitGraph.js';

export const OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;
export const INPUT_NAME = 'pixel_values';
export const OUTPUT_NAME = 'logits';

export interface OnnxBuildOptions {
  /** float16 initializers, each Cast to float32 in the graph. */
  fp16?: boolean;
  /** ModelProto.metadata_props, in order. */
  metadata?: Record<string, string>;
}

function producerVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** `state` must already have passed assertStateDictFits(config, …). */
export function buildOnnxModel(config: ModelConfig, state: StateDict, options: OnnxBuildOptions = {}): Uint8Array {
  const g = new OnnxGraphBuilder({ fp16Weights: options.fp16 ?? false });
  const pixels = g.input(INPUT_NAME, ['batch', config.inChans, config.imgSize, config.imgSize]);
  const layers = new TransformerLayers(g, state, config);
  const graphs = { vit: vitGraph, cait: caitGraph, swin: swinGraph };
  const logits = graphs[config.arch](layers, pixels);
  g.output(logits, OUTPUT_NAME, ['batch', config.numClasses]);
  return encodeModel({
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'mdistill',
    producer_version: producerVersion(),
    graph: g.build(config.arch),
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}
