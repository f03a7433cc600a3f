// Prints the native source list for binding.gyp (the same list CMakeLists.txt reads). CPU sources only.
const fs = require('node:fs');
const path = require('node:path');
const list = fs.readFileSync(path.join(__dirname, '..', 'native', 'sources.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.endsWith('.cu'));
process.stdout.write(list.join(' '));
