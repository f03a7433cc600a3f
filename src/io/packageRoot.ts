// The root of the installed package (where package.json, configs/ and build/ are), from src/io/ or dist/io/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
