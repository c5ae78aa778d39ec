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
import { lstsq, nnls } from './cpu/linalg.js';
import { cpuBackend, toFloat64 } from './cpu/solve.js';
import { computeD } from './cpu/steps.js';
import { Estimator } from './base-estimator.js';
import type { FitResult, SmoothNMFOptions } from './options.js';
import { badValueError, resolveOptions, validateShape, type ResolvedOptions } from './problem/validate.js';
import { EPSILON, type Backend, type Matrix, type Matrix64, type Problem } from './types.js';

export type { FitResult, SmoothNMFOptions } from './options.js';

/** What `scanData` learns in its one pass over X. */
interface DataScan {
  /** All-zero rows (channels) and columns (pixels), ascending. */
  zeroRows: number[];
  zeroCols: number[];
  /**
   * Σ X in flat order with ESPM's ε in the all-zero rows, exactly as a sum over the filled copy
   * would give it; NaN when there are all-zero columns (their ε falls inside rows that are only
   * known to need it once the whole of X was read: `filledSum` then sums again).
   */
  filledSum: number;
}

/** sum += ε, `count` times, as a flat-order sum over a row of ε would add them. */
function addEpsilons(sum: number, count: number): number {
  for (let j = 0; j < count; j++) {
    const next = sum + EPSILON;
    if (next === sum) break; // below half an ulp of the sum: every later addition is a no-op too
    sum = next;
  }
  return sum;
}

/**
 * Row i of X added to acc[0] (the flat-order running sum); returns the row's own sum, or −1 at
 * a value that is not finite and ≥ 0 (acc then unchanged). No data-dependent branch (most of an
 * EDX cube is 0, in no pattern a branch predictor could learn), and + 0 changes no sum. A
 * function of its own so that V8 optimises it whole after a few rows (a loop inside a longer
 * function is compiled on the spot, before the code after it ran, and deoptimises there).
 */
function addRow(d: ArrayLike<number>, o: number, p: number, acc: Float64Array): number {
  let sum = acc[0];
  let rowSum = 0;
  for (let j = o; j < o + p; j++) {
    const v = d[j];
    if (!(v >= 0 && v < Infinity)) return -1;
    rowSum += v;
    sum += v;
  }
  acc[0] = sum;
  return rowSum;
}

/** Prunes the ascending column list `cand` (n of them) to those where row o of X is 0; returns how many remain. */
function keepZeroColumns(d: ArrayLike<number>, o: number, cand: Int32Array, n: number): number {
  let w = 0;
  for (let c = 0; c < n; c++) {
    const j = cand[c];
    if (d[o + j] === 0) cand[w++] = j;
  }
  return w;
}

/**
 * One pass over X (already shape-checked): every value finite and ≥ 0 (else validateData's error,
 * naming the first bad entry), the all-zero rows and columns (ESPM's `remove_zeros_lines`), and
 * the sum that ESPM's normalisation takes of the filled X, added in the same flat order as a loop
 * over the filled copy would. The columns not yet seen nonzero are kept in a list pruned after
 * each row with counts, which empties it within a few dozen channels on count data.
 */
function scanData(X: Matrix): DataScan {
  const { rows: n, cols: p, data: d } = X;
  const cand = new Int32Array(p); // columns with no nonzero so far, ascending
  for (let j = 0; j < p; j++) cand[j] = j;
  let nCand = p;
  const zeroRows: number[] = [];
  const acc = new Float64Array(1);
  for (let i = 0; i < n; i++) {
    const rowSum = addRow(d, i * p, p, acc);
    if (rowSum < 0) {
      let j = i * p;
      while (d[j] >= 0 && d[j] < Infinity) j++;
      throw badValueError(X, 'X', j);
    }
    // values ≥ 0: the row sum is 0 exactly when every value is (an overflow gives Infinity)
    if (rowSum === 0) {
      zeroRows.push(i);
      acc[0] = addEpsilons(acc[0], p); // the filled copy holds ε there, p times in a row
    } else if (nCand > 0) {
      nCand = keepZeroColumns(d, i * p, cand, nCand);
    }
  }
  const zeroCols = Array.from(cand.subarray(0, nCand));
  return { zeroRows, zeroCols, filledSum: nCand > 0 ? NaN : acc[0] };
}

/** Σ of the filled X in flat order (for when X has all-zero columns; see DataScan.filledSum). */
function filledSum(X: Matrix, zeroRow: Uint8Array, zeroCol: Uint8Array): number {
  const { rows: n, cols: p, data: d } = X;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum = zeroRow[i] === 1 ? addEpsilons(sum, p) : addFilledRow(d, i * p, p, zeroCol, sum);
  }
  return sum;
}

/** sum + row o of X with ε in the zero columns, in order (a function of its own: see addRow). */
function addFilledRow(d: ArrayLike<number>, o: number, p: number, zeroCol: Uint8Array, sum: number): number {
  for (let j = 0; j < p; j++) {
    sum += d[o + j]; // 0 in a zero column: + 0 then + ε is + ε
    if (zeroCol[j] === 1) sum += EPSILON;
  }
  return sum;
}

/**
 * The float64 X the solvers see, written once: s · X with ESPM's ε fill of all-zero lines (as
 * s · ε, what scaling the filled copy gives). s = 1 copies exactly (v · 1 = v; float32 → float64 is exact).
 */
function filledScaled(X: Matrix, s: number, zeroRow: Uint8Array, zeroCols: number[]): Float64Array {
  const { rows: n, cols: p, data: d } = X;
  const out = new Float64Array(n * p);
  const fill = EPSILON * s;
  for (let i = 0; i < n; i++) {
    const o = i * p;
    if (zeroRow[i] === 1) {
      out.fill(fill, o, o + p);
      continue;
    }
    scaleRow(d, out, o, p, s);
    for (let c = 0; c < zeroCols.length; c++) out[o + zeroCols[c]] = fill;
  }
  return out;
}

/** out[o..o+p) = s · d[o..o+p) (a function of its own: see addRow). */
function scaleRow(d: Float32Array | Float64Array, out: Float64Array, o: number, p: number, s: number): void {
  if (s === 1) out.set(d.subarray(o, o + p), o); // v · 1 = v: the native copy (or float32 → float64 conversion)
  else for (let j = o; j < o + p; j++) out[j] = d[j] * s;
}

const flags = (len: number, idx: number[]): Uint8Array => {
  const f = new Uint8Array(len);
  for (const i of idx) f[i] = 1;
  return f;
};

/** ESPM's factor k / (mean(X) · n) from Σ X (flat-order sum). */
const factorOf = (sum: number, length: number, rows: number, k: number): number => k / ((sum / length) * rows);

/** ESPM's normalisation factor: s = k / (mean(X) · n), so the mean pixel sum becomes k. */
export function normalizationFactor(X: Matrix, k: number): number {
  const d = X.data;
  let sum = 0;
  for (let j = 0; j < d.length; j++) sum += d[j];
  return factorOf(sum, d.length, X.rows, k);
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
  // One validating pass (zero lines, the normalisation sum), then at most one pass that writes
  // the float64 copy: ESPM's order (validate, fill all-zero lines with ε, normalise) in two reads.
  validateShape(X, 'X');
  const scan = scanData(X);
  const opts = resolveOptions(options, X);
  const { zeroRows, zeroCols } = scan;
  const n = X.rows;
  const p = X.cols;
  const list = (a: number[]) => (a.length > 5 ? `${a.slice(0, 5).join(', ')}, … (${a.length} in all)` : a.join(', '));
  if (zeroRows.length) warn(`X has all-zero channels (rows ${list(zeroRows)}); set to ε = ${EPSILON} as ESPM does`);
  if (zeroCols.length) warn(`X has all-zero pixels (columns ${list(zeroCols)}); set to ε = ${EPSILON} as ESPM does`);
  const filled = zeroRows.length > 0 || zeroCols.length > 0;
  const zeroRow = flags(n, zeroRows);
  let normFactor = 1;
  if (opts.normalize) {
    const sum = zeroCols.length > 0 ? filledSum(X, zeroRow, flags(p, zeroCols)) : scan.filledSum;
    normFactor = factorOf(sum, n * p, n, opts.components);
  }
  // Nothing to fill or scale: X itself (a float64 X is shared, not copied, as before).
  const X64: Matrix64 =
    filled || opts.normalize ? { rows: n, cols: p, data: filledScaled(X, normFactor, zeroRow, zeroCols) } : toFloat64(X);
  const { W, H } = initialize(X64, {
    k: opts.components,
    method: opts.init,
    G: opts.G,
    simplex: opts.simplex,
    seed: opts.seed,
    W0: opts.W0,
    H0: opts.H0,
    // scanData checked every value; s · X stays finite unless s itself is not (a mean that
    // underflows to 0), and then initialize's own check reports it as before
    xChecked: Number.isFinite(normFactor),
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
