// The official ONNX checker (full check, strict shape inference) accepts every export. It needs Debian's
// python3-onnx, which scripts/setup.sh installs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../src/export/onnxModel.js';
import { PYTHON, pythonModule, requireTool } from '../helpers/requireTool.js';
import { FIXTURE_MODELS, loadFixture } from './fixtures.js';

beforeAll(() => requireTool(pythonModule('onnx', 'python3-onnx')));
const CHECK = `
import sys, onnx
from onnx import checker, shape_inference
m = onnx.load(sys.argv[1])
checker.check_model(m, full_check=True)
out = shape_inference.infer_shapes(m, check_type=True, strict_mode=True).graph.output[0]
print([d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim])
`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'mdistill-onnx-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onnx.checker (python3-onnx)', () => {
  it.each(FIXTURE_MODELS.flatMap((name) => [[name, false], [name, true]] as const))('%s (fp16 %s) passes the full check', async (name, fp16) => {
    const f = await loadFixture(name);
    const file = path.join(dir, `${name}-${fp16}.onnx`);
    writeFileSync(file, buildOnnxModel(f.config, f.state, { fp16 }));
    const r = spawnSync(PYTHON, ['-c', CHECK, file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`['batch', ${f.config.numClasses}]`);
  });
});
