/**
 * Fixed-spectra NNLS (HS-MOSAIC's "fixed-H NNLS"): the spectra D (n × k) are locked and only the
 * maps H (k × p) are solved,
 *
 *   Frobenius:  H = argmin_{H ≥ 0} ‖X − D H‖²_F        (one independent NNLS problem per pixel)
 *   KL:         H = argmin_{H ≥ 0} KL(X ‖ D H)          (Poisson data, e.g. EDX)
 *
 * Solvers:
 *  - 'active-set' (CPU reference): Lawson–Hanson per pixel (src/cpu/linalg.ts `nnls`), exact up to
 *    rounding (the KKT conditions hold).
 *  - 'fista' (WebGPU; also in float64 on the CPU): projected gradient with FISTA acceleration
 *    (Beck & Teboulle 2009), step 1/λ_max(DᵀD), per-pixel momentum, chunked over pixels
 *    (32 768 per chunk by default). With `restart` (default) the adaptive restart of O'Donoghue &
 *    Candès (2015) is applied per pixel:
 *      - gradient scheme: when ⟨y − a⁺, a⁺ − a⟩ > 0 the momentum is reset (t = 1, y = a⁺);
 *      - function scheme: when f(a⁺) > f(a) the step is rejected and replaced by a plain
 *        projected-gradient step from a (which never increases f with step 1/L) and t = 1. The
 *        test evaluates f(a⁺) − f(a) = dᵀ(Q a − b) + ½ dᵀQd (d = a⁺ − a), which float32 resolves
 *        near the optimum (subtracting two f values does not: they agree to all their digits).
 *    So with restart the objective of every pixel, and of every chunk, is non-increasing.
 *    Convergence per chunk, checked every `checkEvery` (10) iterations:
 *      ‖A⁺ − A‖_F / (‖A‖_F + ε) ≤ tol   (A the chunk's k × pc maps, A⁺ one iteration later),
 *    tol 1e-4 and maxIter 1000 by default. A chunk that misses it returns its last iterate; the
 *    summary reports the per-chunk iteration counts and their maximum.
 *  - KL: multiplicative updates with the spectra fixed (map-only Lee–Seung steps),
 *    h ← h ⊙ Dᵀ(x ⊘ D h) ⊘ Dᵀ1, from h_c = Σ_j x_j / Σ_{j,c} D_jc; stopped by the sampled-error rule
 *    (src/modes/common.ts) on the KL divergence, every `checkEvery` iterations.
 *
 * The fitted maps keep their fitted scale (they are NOT normalised to unit maximum: with D fixed,
 * rescaling H changes the fit).
 */
import { Estimator } from '../base-estimator.js';
import { nnls as lawsonHanson, symmetricEigen } from '../cpu/linalg.js';
import { WebnmfError } from '../errors.js';
import { EPSILON, type BackendName, type Matrix, type Matrix64 } from '../types.js';
import {
  abortedError,
  bool,
  checkMatrix,
  checkOptions,
  checkSpectra,
  frobeniusError,
  int,
  klDivergence,
  oneOf,
  real,
  resolveBackend,
  SampledErrorStop,
  toF64,
  usage,
  yieldNow,
  type FitSummary,
} from './common.js';

export type NNLSSolver = 'auto' | 'active-set' | 'fista';

export interface NNLSProgress {
  /** Chunks finished so far (FISTA / active set) or iterations done (KL). */
  done: number;
  total: number;
}

export interface NNLSOptions {
  /** The locked spectra D, channels × k (one spectrum per column). */
  spectra: Matrix;
  /** 'frobenius' (least squares, default) or 'kl' (Poisson). */
  loss?: 'frobenius' | 'kl';
  /** Default 'auto': 'active-set' on the CPU, 'fista' on WebGPU (KL always uses multiplicative updates). */
  solver?: NNLSSolver;
  /** FISTA adaptive restart (O'Donoghue & Candès). Default true. */
  restart?: boolean;
  /** Default 1e-4. */
  tol?: number;
  /** Default 1000. */
  maxIter?: number;
  /** Convergence / error check every this many iterations. Default 10. */
  checkEvery?: number;
  /** KL: consecutive samples with relative improvement ≤ tol before stopping. Default 1. */
  patience?: number;
  /** Pixels per FISTA chunk. Default 32768. */
  chunkPixels?: number;
  /** Keep the objective at every check per chunk in the result (FISTA). Default false. */
  recordObjective?: boolean;
  /** Default 'auto': WebGPU when an adapter exists, else the CPU reference. */
  backend?: BackendName;
  signal?: AbortSignal;
  onProgress?: (p: NNLSProgress) => void;
  onWarning?: (message: string) => void;
}

export interface NNLSFitResult {
  /** k × p maps in data units (fitted scale). */
  H: Matrix64;
  /** The spectra used, n × k (float64 copy). */
  D: Matrix64;
  summary: FitSummary;
  /**
   * FISTA with recordObjective: per chunk, f(A) = Σ_p ½ aᵀ DᵀD a − (Dᵀx)ᵀ a at iteration 0 and at
   * every check (½‖X − D A‖² − ½‖X‖² of the chunk).
   */
  objective?: number[][];
  /** KL: the sampled KL divergence at iteration 0 and at every check. */
  errors?: number[];
  /** FISTA: the pixels per chunk actually used (WebGPU rounds up to a multiple of 64). */
  chunkPixels?: number;
  solver: 'active-set' | 'fista' | 'mu';
  warnings: string[];
}

const CONSTRAINTS = {
  loss: oneOf('frobenius', 'kl'),
  solver: oneOf('auto', 'active-set', 'fista'),
  restart: bool,
  tol: real(0),
  maxIter: int(1),
  checkEvery: int(1),
  patience: int(1),
  chunkPixels: int(1),
  recordObjective: bool,
  backend: oneOf('cpu', 'webgpu', 'auto'),
};
const OTHER_KEYS = ['spectra', 'signal', 'onProgress', 'onWarning'] as const;

export interface ResolvedNNLS {
  D: Matrix64;
  loss: 'frobenius' | 'kl';
  solver: NNLSSolver;
  restart: boolean;
  tol: number;
  maxIter: number;
  checkEvery: number;
  patience: number;
  chunkPixels: number;
  recordObjective: boolean;
  backend: BackendName;
}

/** Validates X and the options once; inner code trusts the result. */
export function resolveNNLSOptions(X: Matrix, o: NNLSOptions): ResolvedNNLS {
  checkOptions('NNLS', o, CONSTRAINTS, OTHER_KEYS);
  checkMatrix(X, 'X', { nonNegative: true });
  if (o.spectra === undefined) throw usage('NNLS: options.spectra (the locked spectra D, channels × k) is required');
  checkSpectra(o.spectra, X.rows, 'spectra');
  return {
    D: toF64(o.spectra),
    loss: o.loss ?? 'frobenius',
    solver: o.solver ?? 'auto',
    restart: o.restart ?? true,
    tol: o.tol ?? 1e-4,
    maxIter: o.maxIter ?? 1000,
    checkEvery: o.checkEvery ?? 10,
    patience: o.patience ?? 1,
    chunkPixels: o.chunkPixels ?? 32768,
    recordObjective: o.recordObjective ?? false,
    backend: o.backend ?? 'auto',
  };
}

// ---- shared FISTA pieces --------------------------------------------------------------------

/** Q = DᵀD (k × k) and L = λ_max(Q) (the gradient's Lipschitz constant). */
export function gramAndLipschitz(D: Matrix): { Q: Float64Array; L: number } {
  const n = D.rows;
  const k = D.cols;
  const Q = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += D.data[i * k + a] * D.data[i * k + b];
      Q[a * k + b] = s;
      Q[b * k + a] = s;
    }
  }
  const eig = symmetricEigen({ rows: k, cols: k, data: Q });
  let L = 0;
  for (const v of eig.values) L = Math.max(L, v);
  return { Q, L };
}

/** B = Dᵀ X for pixels [p0, p0 + pc): k × pc. */
export function projectChunk(X: Matrix, D: Matrix, p0: number, pc: number): Float64Array {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  const B = new Float64Array(k * pc);
  for (let i = 0; i < n; i++) {
    const xo = i * p + p0;
    for (let c = 0; c < k; c++) {
      const d = D.data[i * k + c];
      if (d === 0) continue;
      const bo = c * pc;
      for (let q = 0; q < pc; q++) B[bo + q] += d * X.data[xo + q];
    }
  }
  return B;
}

export interface FistaChunkResult {
  A: Float64Array;
  iterations: number;
  converged: boolean;
  objective: number[];
}

/**
 * FISTA on one chunk in float64: min_{A ≥ 0} Σ_q ½ a_qᵀ Q a_q − b_qᵀ a_q, A and B k × pc.
 * This is the exact algorithm of the WebGPU kernel (shaders/nnls_fista.wgsl), in float64.
 */
export function fistaChunk(
  Q: Float64Array,
  L: number,
  B: Float64Array,
  k: number,
  pc: number,
  o: { restart: boolean; tol: number; maxIter: number; checkEvery: number; record: boolean },
): FistaChunkResult {
  const A = new Float64Array(k * pc);
  const Y = new Float64Array(k * pc);
  const T = new Float64Array(pc).fill(1);
  const invL = 1 / L;
  const a = new Float64Array(k);
  const y = new Float64Array(k);
  const an = new Float64Array(k);
  const g = new Float64Array(k);
  const objective: number[] = o.record ? [0] : [];
  const f = (v: Float64Array, q: number): number => {
    let s = 0;
    for (let r = 0; r < k; r++) {
      let qv = 0;
      for (let c = 0; c < k; c++) qv += Q[r * k + c] * v[c];
      s += v[r] * (0.5 * qv - B[r * pc + q]);
    }
    return s;
  };
  let it = 0;
  let converged = false;
  while (it < o.maxIter) {
    it++;
    const check = it % o.checkEvery === 0 || it === o.maxIter;
    let dd = 0;
    let aa = 0;
    let obj = 0;
    for (let q = 0; q < pc; q++) {
      for (let c = 0; c < k; c++) {
        a[c] = A[c * pc + q];
        y[c] = Y[c * pc + q];
      }
      // a⁺ = max(y − (Q y − b)/L, 0)
      for (let r = 0; r < k; r++) {
        let s = -B[r * pc + q];
        for (let c = 0; c < k; c++) s += Q[r * k + c] * y[c];
        g[r] = s;
      }
      for (let c = 0; c < k; c++) an[c] = Math.max(y[c] - invL * g[c], 0);
      let t = T[q];
      let tn = 1;
      let reject = false;
      if (o.restart) {
        // f(a⁺) − f(a) = dᵀ(Q a − b) + ½ dᵀ Q d with d = a⁺ − a (see the WGSL kernel)
        let df = 0;
        for (let r = 0; r < k; r++) {
          let s = -B[r * pc + q];
          let qd = 0;
          for (let c = 0; c < k; c++) {
            s += Q[r * k + c] * a[c];
            qd += Q[r * k + c] * (an[c] - a[c]);
          }
          g[r] = s;
          df += (an[r] - a[r]) * (s + 0.5 * qd);
        }
        if (df > 0) {
          // function restart: reject, take a projected-gradient step from a instead
          reject = true;
          for (let c = 0; c < k; c++) {
            an[c] = Math.max(a[c] - invL * g[c], 0);
            y[c] = an[c];
          }
        }
      }
      if (!reject) {
        tn = 0.5 * (1 + Math.sqrt(1 + 4 * t * t));
        let gr = 0;
        if (o.restart) for (let c = 0; c < k; c++) gr += (y[c] - an[c]) * (an[c] - a[c]);
        if (gr > 0) {
          tn = 1;
          for (let c = 0; c < k; c++) y[c] = an[c];
        } else {
          const beta = (t - 1) / tn;
          for (let c = 0; c < k; c++) y[c] = an[c] + beta * (an[c] - a[c]);
        }
      }
      T[q] = tn;
      for (let c = 0; c < k; c++) {
        if (check) {
          const d = an[c] - a[c];
          dd += d * d;
          aa += a[c] * a[c];
        }
        A[c * pc + q] = an[c];
        Y[c * pc + q] = y[c];
      }
      if (check && o.record) obj += f(an, q);
    }
    if (check) {
      if (o.record) objective.push(obj);
      if (Math.sqrt(dd) / (Math.sqrt(aa) + 1e-12) <= o.tol) {
        converged = true;
        break;
      }
    }
  }
  return { A, iterations: it, converged, objective };
}

// ---- CPU solvers ----------------------------------------------------------------------------

export interface ChunkedResult {
  H: Matrix64;
  chunkIterations: number[];
  converged: boolean;
  objective?: number[][];
}

/** FISTA over all chunks on the CPU (float64). */
export async function nnlsFistaCpu(
  X: Matrix,
  D: Matrix64,
  o: Pick<ResolvedNNLS, 'restart' | 'tol' | 'maxIter' | 'checkEvery' | 'chunkPixels' | 'recordObjective'>,
  hooks: { signal?: AbortSignal; onProgress?: (p: NNLSProgress) => void } = {},
): Promise<ChunkedResult> {
  const p = X.cols;
  const k = D.cols;
  const { Q, L } = gramAndLipschitz(D);
  const H = new Float64Array(k * p);
  const nChunks = Math.ceil(p / o.chunkPixels);
  const chunkIterations: number[] = [];
  const objective: number[][] = [];
  let converged = true;
  for (let ch = 0; ch < nChunks; ch++) {
    if (hooks.signal?.aborted) throw abortedError(hooks.signal, 'NNLS');
    const p0 = ch * o.chunkPixels;
    const pc = Math.min(o.chunkPixels, p - p0);
    const B = projectChunk(X, D, p0, pc);
    const r = fistaChunk(Q, L, B, k, pc, { ...o, record: o.recordObjective });
    for (let c = 0; c < k; c++) H.set(r.A.subarray(c * pc, (c + 1) * pc), c * p + p0);
    chunkIterations.push(r.iterations);
    converged &&= r.converged;
    if (o.recordObjective) objective.push(r.objective);
    hooks.onProgress?.({ done: ch + 1, total: nChunks });
    await yieldNow();
  }
  return { H: { rows: k, cols: p, data: H }, chunkIterations, converged, ...(o.recordObjective ? { objective } : {}) };
}

/** Exact per-pixel Lawson–Hanson NNLS (the CPU reference). Iterations: outer iterations per pixel. */
export async function nnlsActiveSetCpu(
  X: Matrix,
  D: Matrix64,
  hooks: { signal?: AbortSignal; onProgress?: (p: NNLSProgress) => void } = {},
): Promise<{ H: Matrix64; iterations: number[] }> {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  const H = new Float64Array(k * p);
  const iterations: number[] = new Array<number>(p);
  const x = new Float64Array(n);
  let last = performance.now();
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < n; i++) x[i] = X.data[i * p + j];
    const r = lawsonHanson(D, x, { maxIter: Math.max(3 * k, 30) });
    for (let c = 0; c < k; c++) H[c * p + j] = r.x[c];
    iterations[j] = r.iterations;
    if (performance.now() - last > 50) {
      if (hooks.signal?.aborted) throw abortedError(hooks.signal, 'NNLS');
      hooks.onProgress?.({ done: j + 1, total: p });
      await yieldNow();
      last = performance.now();
    }
  }
  hooks.onProgress?.({ done: p, total: p });
  return { H: { rows: k, cols: p, data: H }, iterations };
}

/** The KL start: h_c = Σ_j x_j / Σ_{j,c} D_jc (so Σ_j (D h)_j = Σ_j x_j), floored at ε. */
export function klStart(X: Matrix, D: Matrix): Float64Array {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  let dsum = 0;
  for (let i = 0; i < D.data.length; i++) dsum += D.data[i];
  const H = new Float64Array(k * p);
  for (let j = 0; j < p; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += X.data[i * p + j];
    const v = Math.max(s / dsum, EPSILON);
    for (let c = 0; c < k; c++) H[c * p + j] = v;
  }
  return H;
}

/** One map-only KL multiplicative step in float64 (in place): h ← max(h ⊙ Dᵀ(x ⊘ Dh) ⊘ Dᵀ1, ε). */
export function klMapStep(X: Matrix, D: Matrix, H: Float64Array, colSum: Float64Array): void {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  const h = new Float64Array(k);
  const num = new Float64Array(k);
  for (let j = 0; j < p; j++) {
    for (let c = 0; c < k; c++) {
      h[c] = H[c * p + j];
      num[c] = 0;
    }
    for (let i = 0; i < n; i++) {
      const x = X.data[i * p + j];
      if (x === 0) continue;
      let y = 0;
      for (let c = 0; c < k; c++) y += D.data[i * k + c] * h[c];
      const r = x / Math.max(y, 1e-300);
      for (let c = 0; c < k; c++) num[c] += D.data[i * k + c] * r;
    }
    for (let c = 0; c < k; c++) H[c * p + j] = Math.max((h[c] * num[c]) / colSum[c], EPSILON);
  }
}

/** KL fixed-spectra fit on the CPU (float64): MU map steps + the sampled-error rule. */
export async function nnlsKlCpu(
  X: Matrix,
  D: Matrix64,
  o: Pick<ResolvedNNLS, 'tol' | 'maxIter' | 'checkEvery' | 'patience'>,
  hooks: { signal?: AbortSignal; onProgress?: (p: NNLSProgress) => void } = {},
): Promise<{ H: Matrix64; iterations: number; converged: boolean; errors: number[] }> {
  const p = X.cols;
  const k = D.cols;
  const colSum = new Float64Array(k);
  for (let i = 0; i < D.rows; i++) for (let c = 0; c < k; c++) colSum[c] += D.data[i * k + c];
  const H = klStart(X, D);
  const rule = new SampledErrorStop({ tol: o.tol, patience: o.patience });
  const errors = [klDivergence(X, D, { rows: k, cols: p, data: H })];
  rule.push(errors[0]);
  let it = 0;
  let converged = false;
  while (it < o.maxIter) {
    if (hooks.signal?.aborted) throw abortedError(hooks.signal, 'NNLS (KL)');
    klMapStep(X, D, H, colSum);
    it++;
    if (it % o.checkEvery === 0 || it === o.maxIter) {
      const e = klDivergence(X, D, { rows: k, cols: p, data: H });
      errors.push(e);
      hooks.onProgress?.({ done: it, total: o.maxIter });
      if (rule.push(e)) {
        converged = true;
        break;
      }
      await yieldNow();
    }
  }
  return { H: { rows: k, cols: p, data: H }, iterations: it, converged, errors };
}

// ---- the estimator --------------------------------------------------------------------------

/** The functional twin of `new NNLS(options).fit(X)`. */
export async function fitNNLS(X: Matrix, options: NNLSOptions): Promise<NNLSFitResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const o = resolveNNLSOptions(X, options);
  const backend = await resolveBackend(o.backend, warn);
  const hooks = { signal: options.signal, onProgress: options.onProgress };
  const D = o.D;
  const k = D.cols;
  let H: Matrix64;
  let summary: Omit<FitSummary, 'seconds' | 'finalError'>;
  let objective: number[][] | undefined;
  let errors: number[] | undefined;
  let chunkPixels: number | undefined;
  let solver: NNLSFitResult['solver'];

  if (o.loss === 'kl') {
    if (o.solver === 'active-set' || o.solver === 'fista') {
      throw usage(`NNLS: solver '${o.solver}' solves the least-squares problem; loss 'kl' uses multiplicative updates (leave solver 'auto')`);
    }
    solver = 'mu';
    if (backend === 'webgpu') {
      const gpu = await import('../gpu/modes/nnls.js');
      const r = await gpu.nnlsKlGpu(X, D, o, hooks);
      H = r.H;
      errors = r.errors;
      summary = {
        mode: 'nnls-kl', backend, backendInfo: r.backendInfo, iterations: r.iterations, converged: r.converged,
        stopReason: r.converged ? 'converged_sampled_error' : 'max_iter',
      };
    } else {
      const r = await nnlsKlCpu(X, D, o, hooks);
      H = r.H;
      errors = r.errors;
      summary = {
        mode: 'nnls-kl', backend, backendInfo: 'cpu (float64 reference)', iterations: r.iterations, converged: r.converged,
        stopReason: r.converged ? 'converged_sampled_error' : 'max_iter',
      };
    }
    if (!summary.converged) warn(`NNLS (KL): stopped at maxIter = ${o.maxIter} before the sampled-error tolerance ${o.tol}; raise maxIter and re-run`);
  } else {
    solver = o.solver === 'auto' ? (backend === 'webgpu' ? 'fista' : 'active-set') : o.solver;
    if (solver === 'active-set') {
      if (backend === 'webgpu') {
        throw usage("NNLS: solver 'active-set' runs on the CPU only; use backend 'cpu', or solver 'fista' (or 'auto') on WebGPU");
      }
      const r = await nnlsActiveSetCpu(X, D, hooks);
      H = r.H;
      const maxIt = r.iterations.reduce((a, b) => Math.max(a, b), 0);
      summary = {
        mode: 'nnls', backend, backendInfo: 'cpu (float64 reference, Lawson–Hanson active set)', iterations: maxIt,
        maxChunkIterations: maxIt, converged: true, stopReason: 'exact',
      };
    } else {
      const r =
        backend === 'webgpu'
          ? await (await import('../gpu/modes/nnls.js')).nnlsFistaGpu(X, D, o, hooks)
          : { ...(await nnlsFistaCpu(X, D, o, hooks)), backendInfo: 'cpu (float64 FISTA)' };
      H = r.H;
      objective = r.objective;
      chunkPixels = backend === 'webgpu' ? Math.ceil(o.chunkPixels / 64) * 64 : o.chunkPixels;
      const maxIt = r.chunkIterations.reduce((a, b) => Math.max(a, b), 0);
      summary = {
        mode: 'nnls', backend, backendInfo: r.backendInfo, iterations: maxIt, chunkIterations: r.chunkIterations,
        maxChunkIterations: maxIt, converged: r.converged, stopReason: r.converged ? 'converged_rel_change' : 'max_iter',
      };
      if (!r.converged) {
        const n = r.chunkIterations.filter((v) => v >= o.maxIter).length;
        warn(`NNLS (FISTA): ${n} of ${r.chunkIterations.length} chunk(s) reached maxIter = ${o.maxIter} before tol = ${o.tol}; the result is iteration-limited: raise maxIter and re-run`);
      }
    }
  }
  const finalError = o.loss === 'kl' ? klDivergence(X, D, H) : frobeniusError(X, D, H);
  return {
    H,
    D: { rows: D.rows, cols: k, data: D.data.slice() },
    summary: { ...summary, finalError, seconds: (performance.now() - t0) / 1000 },
    ...(objective ? { objective } : {}),
    ...(errors ? { errors } : {}),
    ...(chunkPixels ? { chunkPixels } : {}),
    solver,
    warnings,
  };
}

/**
 * Fixed-spectra unmixing as an estimator: `new NNLS({ spectra: D }).fitTransform(X)` returns the
 * maps (k × pixels); `transform(X2)` solves other data (another slice) with the same spectra.
 */
export class NNLS extends Estimator<NNLSOptions, NNLSFitResult> {
  constructor(options: NNLSOptions) {
    super(options, 'NNLS');
  }

  protected run(X: Matrix, options: NNLSOptions): Promise<NNLSFitResult> {
    return fitNNLS(X, options);
  }

  async fitTransform(X: Matrix, extra: Partial<NNLSOptions> = {}): Promise<Matrix64> {
    await this.fit(X, extra);
    return this.fitted.H;
  }

  /** The maps of other data with the same spectra (nothing is stored). */
  async transform(X: Matrix, extra: Partial<NNLSOptions> = {}): Promise<Matrix64> {
    this.assertAlive();
    return (await fitNNLS(X, { ...this.options, ...extra })).H;
  }

  get H(): Matrix64 {
    return this.fitted.H;
  }
  get D(): Matrix64 {
    return this.fitted.D;
  }
  get summary(): FitSummary {
    return this.fitted.summary;
  }
}
