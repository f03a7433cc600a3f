// The suite's one rule for what a test needs from the machine:
// - Tools and data that scripts/setup.sh installs (chromium, python3-pil, python3-onnx, dataset-fashion-mnist) are
//   required by the test command: when one is missing the test FAILS, naming the Debian package and
//   scripts/setup.sh, so a green run always means those checks ran.
// - Only what setup.sh cannot provide may be absent, and then the test SKIPS, saying so in its name: a CUDA device,
//   and the CUDA toolkit (nvcc) that comes with CUDA machines.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

export interface SetupTool {
  /** What the test needs, e.g. 'headless Chromium (/usr/bin/chromium)'. */
  what: string;
  /** The Debian package scripts/setup.sh installs for it. */
  debianPackage: string;
  present: () => boolean;
  /** Another way to provide it, e.g. 'or point $MDISTILL_CHROMIUM at a Chromium binary'. */
  otherwise?: string;
}

/** Throws, saying how to install it, unless the tool is present. Call it in the test (or its beforeAll). */
export function requireTool(tool: SetupTool): void {
  if (tool.present()) return;
  throw new Error(
    `${tool.what} is missing, and the test suite requires it. Install the Debian package "${tool.debianPackage}" ` +
      `(\`sudo apt-get install -y ${tool.debianPackage}\`) or run scripts/setup.sh${tool.otherwise ? `, ${tool.otherwise}` : ''}.`,
  );
}

/** A Python module for /usr/bin/python3 from a Debian package (e.g. PIL from python3-pil). */
export function pythonModule(module: string, debianPackage: string): SetupTool {
  return {
    what: `the Python module '${module}' for ${PYTHON}`,
    debianPackage,
    present: () => spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' }).status === 0,
  };
}

/** A file or directory a Debian package installs. */
export function installedPath(what: string, file: string, debianPackage: string): SetupTool {
  return { what: `${what} (${file})`, debianPackage, present: () => existsSync(file) };
}

/** The CUDA compiler, where this machine has the CUDA toolkit (setup.sh does not install it); undefined otherwise. */
export function findNvcc(): string | undefined {
  return ['nvcc', '/usr/local/cuda/bin/nvcc'].find((bin) => spawnSync(bin, ['--version']).status === 0);
}

/** Whether a CUDA device is visible (hardware: tests that need one skip without it). */
export function hasCudaDevice(): boolean {
  return spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).stdout?.includes('GPU') ?? false;
}
