/**
 * Poisson count splitting (data thinning, Neufeld et al. 2022/2023): with X ~ Poisson(M),
 * A ~ Binomial(X, f) and B = X − A are independent, A ~ Poisson(f M), B ~ Poisson((1 − f) M).
 * A model fitted on A predicts E[A] = f M; the held-out score of B is the generalised KL
 * deviance of B against that prediction rescaled to B's expected counts, (1 − f)/f · prediction.
 */
import { inputError } from '../errors.js';
import { Random } from '../random.js';
import type { Matrix, Matrix64 } from '../types.js';

/** A ~ Binomial(X, f) element-wise and B = X − A. X must hold non-negative integer counts. */
export function thinCounts(X: Matrix, f: number, seed: number): { A: Matrix64; B: Matrix64 } {
  const rng = new Random(seed);
  const a = new Float64Array(X.data.length);
  const bb = new Float64Array(X.data.length);
  for (let j = 0; j < X.data.length; j++) {
    const v = X.data[j];
    if (!Number.isInteger(v) || v < 0) {
      throw inputError(
        `count splitting needs raw integer counts, but X holds ${v} at element ${j}; give the uncorrected, unnormalised counts (not a background-subtracted or scaled cube), or set λ and μ yourself with 'webnmf fit'`,
      );
    }
    const t = v === 0 ? 0 : rng.binomial(v, f);
    a[j] = t;
    bb[j] = v - t;
  }
  return { A: { rows: X.rows, cols: X.cols, data: a }, B: { rows: X.rows, cols: X.cols, data: bb } };
}

/**
 * Generalised KL deviance Σ_i [Y log(Y/P) − Y + P] of held-out counts Y against the prediction
 * P = scale · (D H), per pixel (length p). Non-finite when the prediction is 0 where Y > 0.
 */
export function deviancePerPixel(Y: Matrix, D: Matrix64, H: Matrix64, scale: number): Float64Array {
  const n = Y.rows;
  const p = Y.cols;
  const k = D.cols;
  const out = new Float64Array(p);
  const pred = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    pred.fill(0);
    for (let c = 0; c < k; c++) {
      const d = D.data[i * k + c] * scale;
      const o = c * p;
      for (let j = 0; j < p; j++) pred[j] += d * H.data[o + j];
    }
    const yo = i * p;
    for (let j = 0; j < p; j++) {
      const y = Y.data[yo + j];
      const m = pred[j];
      out[j] += (y > 0 ? y * Math.log(y / m) - y : 0) + m;
    }
  }
  return out;
}
