/**
 * The public estimator: options validated once, the problem prepared (zero rows/columns,
 * normalisation, initialisation), solved by a backend, and post-processed as ESPM does.
 *
 *   const model = new SmoothNMF({ components: 3, lambda: 2, mu: 0.05, simplex: 'h', shape, G });
 *   const H = await model.fitTransform(X);      // maps, k × pixels
 *   model.D, model.W, model.losses, model.nIter, model.stopReason
 *   model.dispose();
 *
 * or the functional twin: `const result = await fitSmoothNMF(X, options)`.
 */
import { initialize } from './cpu/init.js';
import { lstsq, nnls, scaled } from './cpu/linalg.js';
import { cpuBackend, toFloat64 } from './cpu/solve.js';
import { computeD } from './cpu/steps.js';
import { Estimator } from './base-estimator.js';
import type { FitResult, SmoothNMFOptions } from './options.js';
import { resolveOptions, validateData, type ResolvedOptions } from './problem/validate.js';
import { EPSILON, type Backend, type Matrix, type Matrix64, type Problem } from './types.js';

export type { FitResult, SmoothNMFOptions } from './options.js';

/**
 * ESPM's `remove_zeros_lines`: all-zero rows (channels) and columns (pixels) of X are set to ε,
 * since the multiplicative updates cannot move away from them. Returns a copy when it changes X.
 */
function fillZeroLines(X: Matrix64, warn: (m: string) => void): Matrix64 {
  const { rows: n, cols: p, data } = X;
  const rowSum = new Float64Array(n);
  const colSum = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      rowSum[i] += data[i * p + j];
      colSum[j] += data[i * p + j];
    }
  }
  const zeroRows = [...rowSum.keys()].filter((i) => rowSum[i] === 0);
  const zeroCols = [...colSum.keys()].filter((j) => colSum[j] === 0);
  if (zeroRows.length === 0 && zeroCols.length === 0) return X;
  const out = data.slice();
  for (const i of zeroRows) out.fill(EPSILON, i * p, (i + 1) * p);
  for (const j of zeroCols) for (let i = 0; i < n; i++) out[i * p + j] = EPSILON;
  const list = (a: number[]) => (a.length > 5 ? `${a.slice(0, 5).join(', ')}, … (${a.length} in all)` : a.join(', '));
  if (zeroRows.length) warn(`X has all-zero channels (rows ${list(zeroRows)}); set to ε = ${EPSILON} as ESPM does`);
  if (zeroCols.length) warn(`X has all-zero pixels (columns ${list(zeroCols)}); set to ε = ${EPSILON} as ESPM does`);
  return { rows: n, cols: p, data: out };
}

/** ESPM's normalisation factor: s = k / (mean(X) · n), so the mean pixel sum becomes k. */
export function normalizationFactor(X: Matrix, k: number): number {
  let sum = 0;
  for (let j = 0; j < X.data.length; j++) sum += X.data[j];
  return k / ((sum / X.data.length) * X.rows);
}

/**
 * ESPM's `rescaled_DH`, applied when no simplex is on: s = argmin ‖Hᵀ s − 1‖ (NNLS floored at
 * 1e-10 if some s ≤ 0), W ← W diag(1/s), H ← diag(s) H, so the maps sum to about 1 per pixel.
 */
export function rescaleToUnitSums(W: Matrix64, H: Matrix64): { W: Matrix64; H: Matrix64 } {
  const k = H.rows;
  const p = H.cols;
  const Ht: Matrix64 = { rows: p, cols: k, data: new Float64Array(p * k) };
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) Ht.data[j * k + c] = H.data[c * p + j];
  const ones: Matrix64 = { rows: p, cols: 1, data: new Float64Array(p).fill(1) };
  let s = Array.from(lstsq(Ht, ones).data);
  if (s.some((v) => !(v > 0))) s = Array.from(nnls(Ht, ones.data).x, (v) => Math.max(v, 1e-10));
  const Wd = W.data.slice();
  const Hd = H.data.slice();
  for (let r = 0; r < W.rows; r++) for (let c = 0; c < k; c++) Wd[r * k + c] /= s[c];
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) Hd[c * p + j] *= s[c];
  return { W: { rows: W.rows, cols: k, data: Wd }, H: { rows: k, cols: p, data: Hd } };
}

/**
 * Picks the backend: 'auto' prefers WebGPU when an adapter exists and the engine supports the
 * problem, and says why when it falls back to the CPU reference.
 */
async function acquireBackend(opts: ResolvedOptions, problem: Problem, warn: (m: string) => void): Promise<Backend> {
  if (typeof opts.backend === 'object') return opts.backend;
  if (opts.backend === 'cpu') return cpuBackend;
  const gpu = await import('./gpu/index.js');
  if (opts.backend === 'webgpu') return gpu.createWebGPUBackend();
  const unsupported = gpu.unsupportedReason(problem);
  if (unsupported) {
    warn(`backend 'auto': ${unsupported}; using the CPU reference`);
    return cpuBackend;
  }
  const probe = await gpu.webgpuAvailable();
  if (!probe.ok) {
    warn(`backend 'auto': no WebGPU adapter (${probe.reason ?? 'unknown reason'}); using the CPU reference`);
    return cpuBackend;
  }
  return gpu.createWebGPUBackend();
}

/** Prepares the problem the backends solve: validated, zero lines filled, normalised, initialised. */
export function prepareProblem(
  X: Matrix,
  options: SmoothNMFOptions,
  warn: (m: string) => void = () => {},
): { problem: Problem; opts: ResolvedOptions; normFactor: number } {
  validateData(X, 'X');
  const opts = resolveOptions(options, X);
  let X64 = fillZeroLines(toFloat64(X), warn);
  let normFactor = 1;
  if (opts.normalize) {
    normFactor = normalizationFactor(X64, opts.components);
    X64 = scaled(X64, normFactor);
  }
  const { W, H } = initialize(X64, {
    k: opts.components,
    method: opts.init,
    G: opts.G,
    simplex: opts.simplex,
    seed: opts.seed,
    W0: opts.W0,
    H0: opts.H0,
  });
  const problem: Problem = {
    X: X64,
    G: opts.G,
    components: opts.components,
    loss: opts.loss,
    lambda: opts.lambda,
    mu: opts.mu,
    epsilonReg: opts.epsilonReg,
    simplex: opts.simplex,
    simplexSolver: opts.simplexSolver,
    simplexTol: opts.simplexTol,
    majorizer: opts.majorizer,
    extrapolation: opts.extrapolation,
    shape: opts.shape,
    W0: W,
    H0: H,
    maxIter: opts.maxIter,
    tol: opts.tol,
    lossEvery: opts.lossEvery,
    noStop: opts.noStop,
    snapshots: opts.snapshots,
  };
  return { problem, opts, normFactor };
}

/** The functional twin of `new SmoothNMF(options).fit(X)`. */
export async function fitSmoothNMF(X: Matrix, options: SmoothNMFOptions): Promise<FitResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const { problem, opts, normFactor } = prepareProblem(X, options, warn);
  const backend = await acquireBackend(opts, problem, warn);
  try {
    const t1 = performance.now();
    const raw = await backend.solve(problem, { signal: options.signal, onProgress: options.onProgress });
    const t2 = performance.now();
    let { W, H } = raw;
    if (opts.simplex === 'none' && opts.loss === 'kl') ({ W, H } = rescaleToUnitSums(W, H));
    if (normFactor !== 1) W = { rows: W.rows, cols: W.cols, data: W.data.map((v) => v / normFactor) };
    const D = computeD(W, opts.G);
    return {
      W,
      H,
      D: D === W ? { rows: W.rows, cols: W.cols, data: W.data.slice() } : D,
      losses: raw.losses,
      nIter: raw.nIter,
      stopReason: raw.stopReason,
      snapshots: raw.snapshots,
      normFactor,
      backend: backend.name,
      backendInfo: raw.backendInfo,
      warnings,
      solveSeconds: (t2 - t1) / 1000,
      totalSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    if (backend !== cpuBackend && backend !== opts.backend) backend.dispose();
  }
}

/**
 * Regularised Poisson NMF as ESPM's SmoothNMF computes it, shaped like scikit-learn's NMF.
 * X is channels × pixels; the maps H (k × pixels) are the "transformed" data.
 */
export class SmoothNMF extends Estimator<SmoothNMFOptions, FitResult> {
  constructor(options: SmoothNMFOptions) {
    super(options, 'SmoothNMF');
  }

  protected run(X: Matrix, options: SmoothNMFOptions): Promise<FitResult> {
    return fitSmoothNMF(X, options);
  }

  /** Fits and returns the maps H (k × pixels). */
  async fitTransform(X: Matrix, extra: Partial<SmoothNMFOptions> = {}): Promise<Matrix64> {
    await this.fit(X, extra);
    return this.fitted.H;
  }

  /**
   * Maps of new data X with the learned spectra held fixed: H-steps only (W frozen), from a
   * uniform start, under the same λ, μ and simplex options.
   */
  async transform(X: Matrix, extra: Partial<SmoothNMFOptions> = {}): Promise<Matrix64> {
    const fitted = this.fitted;
    const { transformWithFixedW } = await import('./transform.js');
    return transformWithFixedW(X, fitted, { ...this.options, ...extra });
  }

  get W(): Matrix64 {
    return this.fitted.W;
  }
  get H(): Matrix64 {
    return this.fitted.H;
  }
  get D(): Matrix64 {
    return this.fitted.D;
  }
  get losses() {
    return this.fitted.losses;
  }
  get nIter(): number {
    return this.fitted.nIter;
  }
  get stopReason() {
    return this.fitted.stopReason;
  }
}
