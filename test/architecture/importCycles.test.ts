// The layering of src/: no import cycle anywhere, and src/native/ (the addon's interface) is a leaf that imports
// nothing else of src/, so the domain folders map their types onto its wire and never the other way round.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, moduleSpecifiers, type ImportGraph } from './importGraph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the import graph reader', () => {
  it('sees value, type-only, re-export, import-type and dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "export type { D } from './d.js';",
      "export * from './e.js';",
      "type F = import('./f.js').F;",
      "const g = await import('./g.js');",
      "import path from 'node:path';",
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', './g.js', 'node:path']);
  });

  it('finds a cycle and writes it as a loop', () => {
    const graph: ImportGraph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set<string>()],
      ['e', new Set(['e'])],
    ]);
    expect(findCycles(graph).sort()).toEqual(['a -> b -> c -> a', 'e -> e']);
    expect(findCycles(new Map([['a', new Set(['b'])], ['b', new Set<string>()]]))).toEqual([]);
  });
});

describe('src/ layering', () => {
  const graph = buildImportGraph(root);

  it('reads every source file', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('src/cli/main.ts')?.size).toBeGreaterThan(0);
  });

  it('has no import cycle', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('src/native/ imports nothing outside itself', () => {
    const outward = [...graph].flatMap(([file, edges]) =>
      file.startsWith('src/native/') ? [...edges].filter((to) => !to.startsWith('src/native/')).map((to) => `${file} -> ${to}`) : []);
    expect(outward).toEqual([]);
  });
});
