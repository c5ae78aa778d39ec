/**
 * `SmoothNMF.transform`: maps of new data with the learned spectra held fixed. Only H steps
 * run (the W step is skipped), under the model's λ, μ and simplex options, with the same
 * sampled stopping rule as a fit. Runs on the CPU reference.
 */
import { lstsq, scaled } from './cpu/linalg.js';
import { computeD, hStep, klConstant, lossParts, relativeChange } from './cpu/steps.js';
import { toFloat64 } from './cpu/solve.js';
import { normalizationFactor } from './estimator.js';
import { WebnmfError } from './errors.js';
import type { FitResult, SmoothNMFOptions } from './options.js';
import { StopRule, sampleDue } from './problem/stopping.js';
import { resolveOptions, validateData } from './problem/validate.js';
import { EPSILON, type Matrix, type Matrix64 } from './types.js';

export async function transformWithFixedW(X: Matrix, fitted: FitResult, options: SmoothNMFOptions): Promise<Matrix64> {
  validateData(X, 'X');
  const k = fitted.H.rows;
  if (X.rows !== fitted.D.rows) {
    throw new WebnmfError('input', `X has ${X.rows} channels but the model was fitted on ${fitted.D.rows}; transform needs the same channels`);
  }
  const opts = resolveOptions({ ...options, W0: undefined, H0: undefined, init: undefined, components: k }, X);
  let X64 = toFloat64(X);
  let D: Matrix64 = fitted.D;
  if (opts.normalize) {
    const s = normalizationFactor(X64, k);
    X64 = scaled(X64, s);
    D = { rows: D.rows, cols: k, data: D.data.map((v) => v * s) };
  }
  const p = X64.cols;
  let H: Matrix64;
  if (opts.simplex === 'h') {
    H = { rows: k, cols: p, data: new Float64Array(k * p).fill(1 / k) };
  } else {
    const ls = lstsq(D, X64);
    H = { rows: k, cols: p, data: ls.data.map((v) => Math.max(Math.abs(v), EPSILON)) };
  }
  const params = { ...opts, simplex: opts.simplex === 'w' ? ('none' as const) : opts.simplex };
  const klConst = opts.loss === 'kl' ? klConstant(X64) : 0;
  const rule = new StopRule(opts);
  const loss = (it: number, Hold: Matrix64 | null) => ({
    iteration: it,
    ...lossParts(X64, D, H, params, klConst),
    relW: 0,
    relH: Hold ? relativeChange(H, Hold, opts.tol) : NaN,
  });
  let reason = rule.check(loss(0, null));
  let it = 0;
  let good = H;
  while (reason === null) {
    if (opts.maxIter <= it) break;
    const Hold = H;
    H = hStep(X64, D, H, params);
    it++;
    if (sampleDue(it, opts.lossEvery, opts.maxIter)) {
      reason = rule.check(loss(it, Hold));
      if (reason === 'nan') return good;
      good = H;
    }
    if (options.signal?.aborted) throw new WebnmfError('runtime', 'transform aborted');
  }
  return H;
}
