// Resolves libtorch for binding.gyp, in the same order as CMakeLists.txt: MDISTILL_LIBTORCH, Torch_DIR,
// a Python torch, then the system. Usage: node scripts/torch-paths.cjs include|libdir|cflags
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function prefixFromCmakeDir(dir) {
  // <prefix>/share/cmake/Torch or <prefix>/lib/<triplet>/cmake/Torch
  let p = path.resolve(dir);
  for (let i = 0; i < 5 && !fs.existsSync(path.join(p, 'include', 'torch')); i++) p = path.dirname(p);
  return p;
}

function findPrefix() {
  if (process.env.MDISTILL_LIBTORCH) return path.resolve(process.env.MDISTILL_LIBTORCH);
  if (process.env.Torch_DIR) return prefixFromCmakeDir(process.env.Torch_DIR);
  const py = spawnSync('python3', ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], { encoding: 'utf8' });
  if (py.status === 0 && py.stdout.trim()) return prefixFromCmakeDir(path.join(py.stdout.trim(), 'Torch'));
  return '/usr';
}

function libDir(prefix) {
  for (const cand of [path.join(prefix, 'lib'), path.join(prefix, 'lib', 'x86_64-linux-gnu'), path.join(prefix, 'lib', 'aarch64-linux-gnu')]) {
    if (fs.existsSync(path.join(cand, 'libtorch.so'))) return cand;
  }
  return path.join(prefix, 'lib');
}

const prefix = findPrefix();
const what = process.argv[2];
if (what === 'include') {
  process.stdout.write([path.join(prefix, 'include'), path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')].join(' '));
} else if (what === 'libdir') {
  process.stdout.write(libDir(prefix));
} else if (what === 'abi') {
  // Debian's and the pip wheels' libtorch use the new ABI; the old pre-cxx11 zips ship an ABI marker in TorchConfig.
  const cfg = [path.join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake')].find((f) => fs.existsSync(f));
  const old = cfg && /_GLIBCXX_USE_CXX11_ABI=0/.test(fs.readFileSync(cfg, 'utf8'));
  process.stdout.write(old ? '0' : '1');
} else {
  process.stderr.write('usage: torch-paths.cjs include|libdir|abi\n');
  process.exit(2);
}
