// oneDNN for binding.gyp, as CMakeLists.txt finds it: its headers (Debian's libdnnl-dev) and libdnnl. Prints nothing
// when they are missing or MDISTILL_ONEDNN=off, and the addon then runs every product on ATen.
// Usage: node scripts/onednn-flags.cjs define|libraries
const fs = require('node:fs');
const path = require('node:path');

const includeDirs = ['/usr/include', '/usr/local/include'];
const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'];
const found = process.env.MDISTILL_ONEDNN !== 'off' &&
  includeDirs.some((d) => fs.existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp'))) &&
  libDirs.some((d) => fs.existsSync(path.join(d, 'libdnnl.so')));
const what = process.argv[2];
if (what === 'define') {
  process.stdout.write(found ? 'MDISTILL_WITH_ONEDNN=1' : '');
} else if (what === 'libraries') {
  process.stdout.write(found ? '-ldnnl' : '');
} else {
  process.stderr.write('usage: onednn-flags.cjs define|libraries\n');
  process.exit(2);
}
