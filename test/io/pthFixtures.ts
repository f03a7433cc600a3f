// The committed .pth fixtures (made by fixtures/make_pth_fixtures.py with torch.save), their manifest, and a
// small zip writer to build archives the way torch.save lays them out (stored records with CRC-32s).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { StorageDType } from '../../src/io/pth/torchPickle.js';

export const PTH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pth');
export const MAKE_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'make_pth_fixtures.py');

export interface ManifestEntry {
  format: 'zip' | 'legacy';
  wrapper: string | null;
  emaWrapper?: string;
  topLevelKeys: string[];
  skipped: [string, StorageDType][];
  tensors: number;
  bytes: number;
}

export function readManifest(dir = PTH_DIR): Record<string, ManifestEntry> {
  return (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, ManifestEntry> }).files;
}

/** A zip archive of stored records, as PyTorch's writer makes them (no compression, CRC-32s, no ZIP64). */
export function makeZip(records: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const r of records) {
    const name = Buffer.from(r.name, 'utf8');
    const crc = crc32(r.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(r.data.length, 18);
    local.writeUInt32LE(r.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, Buffer.from(r.data));
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(r.data.length, 20);
    entry.writeUInt32LE(r.data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    offset += 30 + name.length + r.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, cd, end]));
}
