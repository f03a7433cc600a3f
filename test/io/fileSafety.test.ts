// Files that are not what they seem: a FIFO opened for reading must not block (it hangs forever when nobody writes
// to it), a weights file larger than 2 GiB must load (a whole-file read stops there), file-system failures read as
// words with the path and what to do (never raw errno text), and writers killed mid-write leave nothing behind.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, symlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWriteDir, atomicWriteFile, removeStaleTemporaries } from '../../src/io/atomicWrite.js';
import { fileProblem } from '../../src/io/fileProblem.js';
import { makeDirectories } from '../../src/io/makeDirectories.js';
import { readRegularFile } from '../../src/io/regularFile.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { tmpDir } from '../data/helpers.js';

const t = tmpDir('filesafety');
afterAll(t.cleanup);

/** An errno error as Node's fs raises it. */
function errno(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw text, ${syscall} '${file}'`), { code, syscall, path: file });
}

const RAW_ERRNO = /\b(EISDIR|EEXIST|EROFS|ENOENT|ENOSPC|ELOOP|EACCES|ENOTDIR):/;

describe('regular files only', () => {
  it('refuses a FIFO at once instead of waiting for a writer forever', async () => {
    const fifo = path.join(t.dir, 'teacher.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expect(readSafetensors(fifo)).rejects.toThrow(/teacher\.safetensors: cannot read it: it is a FIFO \(named pipe\), not a regular file/);
    await expect(readRegularFile(fifo)).rejects.toThrow(/is a FIFO \(named pipe\), not a regular file/);
  }, 5000);

  it('refuses a directory and a character device by name', async () => {
    await expect(readSafetensors(t.dir, { flag: '--teacher-path' })).rejects.toThrow(/^--teacher-path .*: cannot read it: it is a directory, not a regular file/);
    await expect(readSafetensors('/dev/null')).rejects.toThrow(/it is a character device, not a regular file/);
  });
});

describe('safetensors larger than 2 GiB', () => {
  it('reads the header, then each tensor by its byte range', async () => {
    // A sparse file: 3 GiB of hole, then one real 4-element tensor. No disk space is used.
    const file = path.join(t.dir, 'big.safetensors');
    const begin = 3 * 2 ** 30;
    const header = JSON.stringify({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 2], data_offsets: [begin, begin + 16] } });
    const fd = openSync(file, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, len, 0, 8, 0);
    writeSync(fd, Buffer.from(header), 0, header.length, 8);
    writeSync(fd, Buffer.from(Float32Array.from([1.5, -2, 3, 4.25]).buffer), 0, 16, 8 + header.length + begin);
    closeSync(fd);
    const f = await readSafetensors(file);
    expect(f.metadata.format).toBe('pt');
    expect(Array.from(f.tensors.get('w')!.data as Float32Array)).toEqual([1.5, -2, 3, 4.25]);
  });
});

describe('file-system failures in words', () => {
  it('names the path and the flag and says what to do, for each errno', () => {
    const cases: [string, RegExp][] = [
      ['ENOSPC', /^--output-dir \/r: cannot write it: no space is left on the device\. Free some space .* or pass another --output-dir\.$/],
      ['EROFS', /the file system is read-only\. Choose a path on a writable file system/],
      ['EISDIR', /it is a directory, not a file/],
      ['EEXIST', /something of that name is already there/],
      ['ELOOP', /it is a symbolic link loop/],
      ['EACCES', /permission denied/],
      ['EMFILE', /too many open files.*ulimit -n/],
    ];
    for (const [code, message] of cases) {
      const text = fileProblem(errno(code, 'write', '/r'), { path: '/r', action: 'write it', flag: '--output-dir' }).message;
      expect(text).toMatch(message);
      expect(text).not.toMatch(RAW_ERRNO);
    }
  });

  it('a failed file or directory write names its target, keeps the previous version, and shows no raw errno', async () => {
    const dir = path.join(t.dir, 'ckpt', 'checkpoint-last');
    await atomicWriteDir(dir, async (tmp) => atomicWriteFile(path.join(tmp, 'state.json'), '{"good":1}'));
    const full = atomicWriteDir(dir, async () => {
      throw errno('ENOSPC', 'write', path.join(dir, 'model.safetensors'));
    });
    await expect(full).rejects.toThrow(/could not write .*checkpoint-last: no space is left on the device\. Free some space.*the previous checkpoint-last \(if any\) is intact/);
    await expect(full).rejects.not.toThrow(RAW_ERRNO);
    expect(readFileSync(path.join(dir, 'state.json'), 'utf8')).toBe('{"good":1}');
    await expect(atomicWriteFile('/dev/full/x.json', '{}')).rejects.toThrow(/could not write \/dev\/full\/x\.json: a part of \/dev\/full is not a directory/);
  });

  it('never replaces a FIFO, a device or a directory with the file it writes', async () => {
    const fifo = path.join(t.dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(atomicWriteFile(fifo, 'x')).rejects.toThrow(/could not write .*out\.fifo: it is a FIFO \(named pipe\), not a regular file/);
    // A link to a device (replacing the link would be harmless here; replacing /dev/null itself would not).
    const device = path.join(t.dir, 'null-link');
    symlinkSync('/dev/null', device);
    await expect(atomicWriteFile(device, 'x')).rejects.toThrow(/it is a link to a character device, not to a regular file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(device).isSymbolicLink()).toBe(true);
  });

  it('mkdir -p returns where the kernel answers ENOENT for a parent that exists (/proc), and names what is in the way', async () => {
    // Node's recursive mkdir spins forever on this path.
    await expect(makeDirectories('/proc/mdistill-test/run', { flag: '--output-dir', what: 'the run directory' }))
      .rejects.toThrow(/^--output-dir \/proc\/mdistill-test\/run: cannot create the run directory: the file system at \/proc does not allow creating directories there/);
    const file = path.join(t.dir, 'a-file');
    await atomicWriteFile(file, 'x');
    await expect(makeDirectories(path.join(file, 'run'), { flag: '--output-dir' })).rejects.toThrow(/a-file is a regular file, not a directory\. Remove it or choose another path, or pass another --output-dir/);
  }, 5000);
});

describe('temporaries of killed writers', () => {
  it('removes the temporary copies of dead processes and keeps those of live ones', async () => {
    const dir = path.join(t.dir, 'stale');
    const dead = 2 ** 22 + 12345; // above pid_max's default: no such process
    for (const name of [`.checkpoint-last.tmp-${dead}`, `.checkpoint-best.tmp-${dead}`, `.checkpoint-last.tmp-${process.ppid}`]) {
      mkdirSync(path.join(dir, name, 'x'), { recursive: true });
    }
    await atomicWriteFile(path.join(dir, `.report.html.tmp-${dead}-abc123`), 'torn');
    const removed = await removeStaleTemporaries(dir);
    expect(removed.sort()).toEqual([`.checkpoint-best.tmp-${dead}`, `.checkpoint-last.tmp-${dead}`, `.report.html.tmp-${dead}-abc123`]);
    expect(existsSync(path.join(dir, `.checkpoint-last.tmp-${process.ppid}`))).toBe(true);
  });
});
