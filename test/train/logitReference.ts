// Float64 references for the logit losses, each with a bound on how far a float32 evaluation of the same
// formula (what the native step does, on the same float32 logits) may land from it. The tests compare
// |native − reference| with that bound instead of a fixed relative tolerance: a KD loss of 0.018 built from
// terms summing to ~13 loses most of its relative precision to cancellation, and by how much depends on the
// CPU's rounding in the GEMMs and exp/log kernels.

/** Unit roundoff of float32. */
const U32 = 2 ** -24;

/** Higham's γ_n = n·u / (1 − n·u): the relative error bound of n chained float32 roundings. */
const gamma = (n: number) => (n * U32) / (1 - n * U32);

interface BoundedValue { value: number; bound: number }

/** A row's log-softmax in float64, and a bound on each entry's float32 error. */
function logSoftmaxWithBound(row: ArrayLike<number>, tau = 1): { ls: number[]; err: number } {
  const x = Array.from(row, (v) => v / tau);
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
  const ls = x.map((v) => v - lse);
  // float32 computes x/τ, d = x − max, S = Σ exp(d), ls = d − log S. With M = max|x| and L = max|ls|: each d
  // carries ≤ 4u·M (the division, max's own copy of that rounding, the subtraction); S a relative γ_{C+1} (exp,
  // then C−1 additions) plus the d errors; log S that relative error plus u·log C ≤ u·L; the last subtraction u·L.
  const maxAbs = Math.max(...x.map(Math.abs));
  const err = gamma(8) * maxAbs + gamma(x.length + 1) + gamma(2) * Math.max(...ls.map(Math.abs));
  return { ls, err };
}

function rowsOf(flat: Float32Array, cols: number): Float32Array[] {
  return Array.from({ length: flat.length / cols }, (_, i) => flat.subarray(i * cols, (i + 1) * cols));
}

/** The batch mean of per-row values, and the float32 error of that mean: the rows' own errors plus the sum's γ. */
function batchMean(perRow: { value: number; err: number; magnitude: number }[], terms: number, scale = 1): BoundedValue {
  const n = perRow.length;
  const value = perRow.reduce((a, r) => a + r.value, 0) / n;
  const magnitude = perRow.reduce((a, r) => a + r.magnitude, 0) / n;
  const err = perRow.reduce((a, r) => a + r.err, 0) / n + gamma(terms + 2) * magnitude;
  return { value: value * scale, bound: err * scale };
}

/** Cross-entropy of logits to targets (class indices, or one row of probabilities per sample), batch mean. */
export function crossEntropyRef(logits: Float32Array, classes: number, targets: Int32Array | Float32Array): BoundedValue {
  const perRow = rowsOf(logits, classes).map((row, i) => {
    const { ls, err } = logSoftmaxWithBound(row);
    const y = targets instanceof Int32Array ? ls.map((_, c) => (c === targets[i] ? 1 : 0)) : Array.from(targets.subarray(i * classes, (i + 1) * classes));
    const terms = ls.map((v, c) => -y[c] * v);
    const magnitude = terms.reduce((a, t) => a + Math.abs(t), 0);
    const weight = y.reduce((a, v) => a + Math.abs(v), 0);
    return { value: terms.reduce((a, t) => a + t, 0), err: weight * err + gamma(classes) * magnitude, magnitude };
  });
  return batchMean(perRow, logits.length);
}

/** Soft KD: KL(softmax(t/τ) ‖ softmax(s/τ)) summed over classes, batch mean, × τ². */
export function softKdRef(student: Float32Array, teacher: Float32Array, classes: number, tau: number): BoundedValue {
  const t = rowsOf(teacher, classes);
  const perRow = rowsOf(student, classes).map((row, i) => {
    const s = logSoftmaxWithBound(row, tau);
    const q = logSoftmaxWithBound(t[i], tau);
    let value = 0, magnitude = 0, err = 0;
    q.ls.forEach((lq, c) => {
      const p = Math.exp(lq), gap = Math.abs(lq - s.ls[c]);
      value += p * (lq - s.ls[c]);
      magnitude += p * gap;
      // the two log-probabilities' errors, plus the roundings of exp(q), q − s and the product (with q's error
      // carried into exp(q)) times the gap
      err += p * (q.err + s.err) + p * (gamma(3) + q.err) * gap;
    });
    return { value, err, magnitude };
  });
  return batchMean(perRow, student.length, tau * tau);
}

/** Hard KD: cross-entropy to the teacher's argmax. */
export function hardKdRef(student: Float32Array, teacher: Float32Array, classes: number): BoundedValue {
  const targets = Int32Array.from(rowsOf(teacher, classes), (r) => r.indexOf(Math.max(...r)));
  return crossEntropyRef(student, classes, targets);
}
