// The constants of Swin's window attention, computed at export time as timm computes them (native/model/
// swin_windows.cc is the C++ twin the native model uses): the relative-position index into the bias table and
// the attention mask of shifted windows.

/** timm's get_relative_position_index, flattened: entry i*w² + j indexes the table row of tokens i and j. */
export function relativePositionIndex(window: number): Int32Array {
  const n = window * window;
  const index = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dr = Math.floor(i / window) - Math.floor(j / window) + window - 1;
      const dc = (i % window) - (j % window) + window - 1;
      index[i * n + j] = dr * (2 * window - 1) + dc;
    }
  }
  return index;
}

/** The relative position bias [heads, w², w²] gathered from a table [(2w-1)², heads]. */
export function gatherRelativeBias(table: Float32Array, heads: number, window: number): Float32Array {
  const n = window * window;
  const index = relativePositionIndex(window);
  const bias = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    for (let ij = 0; ij < n * n; ij++) bias[h * n * n + ij] = table[index[ij] * heads + h];
  }
  return bias;
}

/** timm's shifted-window mask [windows, w², w²]: 0 within a region of the shifted map, -100 across regions. */
export function shiftedWindowMask(grid: number, window: number, shift: number): Float32Array {
  const region = (i: number) => (i < grid - window ? 0 : i < grid - shift ? 1 : 2);
  const perSide = grid / window;
  const n = window * window;
  const mask = new Float32Array(perSide * perSide * n * n);
  const label = new Int32Array(n);
  let o = 0;
  for (let wr = 0; wr < perSide; wr++) {
    for (let wc = 0; wc < perSide; wc++) {
      for (let t = 0; t < n; t++) label[t] = region(wr * window + Math.floor(t / window)) * 3 + region(wc * window + (t % window));
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mask[o++] = label[i] === label[j] ? 0 : -100;
    }
  }
  return mask;
}
