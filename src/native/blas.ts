// Which BLAS the process actually loaded (Debian picks it through update-alternatives at run time).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface BlasInfo {
  name: string;
  /** The mapped BLAS/LAPACK library files. */
  libraries: string[];
  /** True for the netlib reference BLAS, which is ~15x slower for matmuls. */
  reference: boolean;
}

export function classifyBlas(libraries: string[]): BlasInfo {
  const has = (re: RegExp) => libraries.some((l) => re.test(l));
  let name = 'unknown';
  let reference = false;
  if (has(/openblas/i)) {
    name = has(/openblas-openmp/) ? 'OpenBLAS (OpenMP)' : has(/openblas-pthread/) ? 'OpenBLAS (pthreads)' : 'OpenBLAS';
  } else if (has(/mkl/i)) {
    name = 'Intel MKL';
  } else if (has(/blis/i)) {
    name = 'BLIS';
  } else if (has(/atlas/i)) {
    name = 'ATLAS';
  } else if (has(/\/blas\/libblas\.so/)) {
    name = 'reference BLAS (netlib)';
    reference = true;
  }
  return { name, libraries, reference };
}

/** Reads /proc/self/maps; call after the addon (and so libtorch) is loaded. */
export function detectLoadedBlas(mapsText?: string): BlasInfo {
  let text = mapsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return { name: 'unknown (no /proc/self/maps)', libraries: [], reference: false };
    }
  }
  const libraries = new Set<string>();
  for (const line of text.split('\n')) {
    const file = line.trim().split(/\s+/)[5];
    if (file && /lib(open)?blas|liblapack|libmkl|libblis|libatlas/.test(path.basename(file))) libraries.add(file);
  }
  return classifyBlas([...libraries]);
}
