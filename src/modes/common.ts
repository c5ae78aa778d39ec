/**
 * Shared pieces of the analysis modes (PCA, fixed-spectra NNLS, seeded NNMF, 4-D stacks):
 * option checks in the style of src/problem/validate.ts, backend choice, the sampled-error
 * stopping rule of HS-MOSAIC's documentation, and the fit summary every mode returns.
 *
 * Layout (webnmf's, as everywhere): X is channels × pixels (n × p), the spectra D are n × k
 * (one spectrum per COLUMN) and the maps H are k × p (one map per ROW). HS-MOSAIC writes the
 * transposed model X(pixels × channels) ≈ W H and calls the spectra H and the maps W:
 *   HS-MOSAIC H (k × channels)  = webnmf Dᵀ
 *   HS-MOSAIC W (pixels × k)    = webnmf Hᵀ
 */
import { WebnmfError } from '../errors.js';
import type { BackendName, Matrix, Matrix64 } from '../types.js';
import { validateData } from '../problem/validate.js';

export const usage = (m: string) => new WebnmfError('usage', m);
export const input = (m: string) => new WebnmfError('input', m);

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export interface Constraint {
  check: (v: unknown) => boolean;
  expected: string;
}
export const int = (min: number): Constraint => ({
  check: (v) => Number.isInteger(v) && (v as number) >= min,
  expected: `an integer ≥ ${min}`,
});
export const real = (min: number, open = false): Constraint => ({
  check: (v) => isNum(v) && (open ? v > min : v >= min),
  expected: `a finite number ${open ? '>' : '≥'} ${min}`,
});
export const oneOf = <T extends string>(...values: T[]): Constraint => ({
  check: (v) => values.includes(v as T),
  expected: `one of ${values.map((s) => `'${s}'`).join(', ')}`,
});
export const bool: Constraint = { check: (v) => typeof v === 'boolean', expected: 'true or false' };

/**
 * Checks an options object against a constraint table and a list of other known keys;
 * `what` names the estimator in messages ("PCA", "NNLS", …).
 */
export function checkOptions(
  what: string,
  o: object,
  table: Readonly<Record<string, Constraint>>,
  otherKeys: readonly string[],
): void {
  if (!o || typeof o !== 'object') throw usage(`${what} options must be an object`);
  const known = new Set([...Object.keys(table), ...otherKeys]);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw usage(`${what}: unknown option '${key}'; known options: ${[...known].sort().join(', ')}`);
  }
  for (const [key, c] of Object.entries(table)) {
    const v = (o as Record<string, unknown>)[key];
    if (v !== undefined && !c.check(v)) throw usage(`${what}: option ${key} must be ${c.expected}, got ${JSON.stringify(v)}`);
  }
}

/** Checks a matrix's structure and values (the estimators' one check; signs allowed for PCA). */
export const checkMatrix = (A: Matrix, name: string, { nonNegative }: { nonNegative: boolean }): void =>
  validateData(A, name, { nonNegative });

export const toF64 = (A: Matrix): Matrix64 =>
  A.data instanceof Float64Array ? (A as Matrix64) : { rows: A.rows, cols: A.cols, data: Float64Array.from(A.data) };

/**
 * Checks the spectra D (n × k) against the data's channel count n: right length, finite, ≥ 0,
 * no all-zero spectrum, k ≤ n.
 */
export function checkSpectra(D: Matrix, channels: number, what = 'spectra'): void {
  checkMatrix(D, what, { nonNegative: true });
  if (D.rows !== channels) {
    throw input(
      `${what} have ${D.rows} channels (rows) but the data has ${channels}: each spectrum needs one value per channel. ` +
        `Give ${what} as a channels × components matrix (${channels} × k), resampled to the data's channel axis; ` +
        'a components × channels array must be transposed first.',
    );
  }
  if (D.cols > channels) {
    throw input(
      `${what} hold ${D.cols} spectra but the data has only ${channels} channels: at most ${channels} spectra can be ` +
        'told apart. Use fewer components.',
    );
  }
  for (let c = 0; c < D.cols; c++) {
    let s = 0;
    for (let i = 0; i < D.rows; i++) s += D.data[i * D.cols + c];
    if (!(s > 0)) {
      throw input(
        `${what}: spectrum ${c} is all zero, so its map is undefined. Remove component ${c}, give a non-zero spectrum, ` +
          'or (seeded NNMF) leave it out (null) to let the residual fallback estimate it.',
      );
    }
  }
}

/** Picks the backend of a mode: 'auto' → WebGPU when an adapter exists, else the CPU reference. */
export async function resolveBackend(
  backend: BackendName,
  warn: (m: string) => void,
): Promise<'cpu' | 'webgpu'> {
  if (backend === 'cpu') return 'cpu';
  if (backend === 'webgpu') return 'webgpu';
  const gpu = await import('../gpu/index.js');
  const probe = await gpu.webgpuAvailable();
  if (!probe.ok) {
    warn(`backend 'auto': no WebGPU adapter (${probe.reason ?? 'unknown reason'}); using the CPU reference`);
    return 'cpu';
  }
  return 'webgpu';
}

/**
 * HS-MOSAIC's sampled-error rule: the error E is sampled every `every` iterations; the fit stops
 * at the first sample where (E_prev − E) / max(E_prev, ε) ≤ tol has held for `patience`
 * consecutive samples (patience 1 = the document's rule). The comparison is with the previous
 * SAMPLE, not the previous iteration.
 */
export class SampledErrorStop {
  private prev: number | undefined;
  private streak = 0;
  constructor(private readonly opts: { tol: number; patience: number }) {}

  /** Feeds one sample; true when the fit should stop. NaN never stops here (the caller handles it). */
  push(error: number): boolean {
    const prev = this.prev;
    this.prev = error;
    if (prev === undefined || Number.isNaN(error)) return false;
    const improvement = (prev - error) / Math.max(prev, 1e-300);
    if (improvement <= this.opts.tol) this.streak++;
    else this.streak = 0;
    return this.streak >= this.opts.patience;
  }
}

/** What every iterative mode reports (HS-MOSAIC's "fit summary"). */
export interface FitSummary {
  mode: 'pca' | 'nnls' | 'nnls-kl' | 'nmf' | 'seeded-nmf' | 'multislice';
  backend: 'cpu' | 'webgpu';
  backendInfo: string;
  /** Iterations: of the fit (NMF), or the maximum over chunks (NNLS). */
  iterations: number;
  /** NNLS: iterations of each pixel chunk (FISTA) or of each pixel (active set: outer iterations). */
  chunkIterations?: number[];
  /** NNLS: max over chunks; equal to maxIter means the result was iteration-limited. */
  maxChunkIterations?: number;
  /** Whether every chunk met the tolerance (false: raise maxIter and re-run). */
  converged: boolean;
  /** ‖X − D H‖_F (Frobenius) or the generalised KL divergence (KL), in data units. */
  finalError: number;
  stopReason: string;
  seconds: number;
}

/** Reads column c of a row-major matrix. */
export function column(A: Matrix, c: number): Float64Array {
  const out = new Float64Array(A.rows);
  for (let i = 0; i < A.rows; i++) out[i] = A.data[i * A.cols + c];
  return out;
}

/** ‖X − D H‖_F in float64 (X n × p, D n × k, H k × p), by pixel, without forming D H. */
export function frobeniusError(X: Matrix, D: Matrix, H: Matrix): number {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  let s = 0;
  const h = new Float64Array(k);
  for (let j = 0; j < p; j++) {
    for (let c = 0; c < k; c++) h[c] = H.data[c * p + j];
    for (let i = 0; i < n; i++) {
      let y = 0;
      for (let c = 0; c < k; c++) y += D.data[i * k + c] * h[c];
      const e = X.data[i * p + j] - y;
      s += e * e;
    }
  }
  return Math.sqrt(s);
}

/** Generalised KL divergence Σ Y − X + X log(X / Y), Y = D H floored at 1e-300. */
export function klDivergence(X: Matrix, D: Matrix, H: Matrix): number {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  let s = 0;
  const h = new Float64Array(k);
  for (let j = 0; j < p; j++) {
    for (let c = 0; c < k; c++) h[c] = H.data[c * p + j];
    for (let i = 0; i < n; i++) {
      let y = 0;
      for (let c = 0; c < k; c++) y += D.data[i * k + c] * h[c];
      y = Math.max(y, 1e-300);
      const x = X.data[i * p + j];
      s += y - x + (x > 0 ? x * Math.log(x / y) : 0);
    }
  }
  return s;
}

/** Yields to the event loop (abort signals and timers are seen). */
export const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function abortedError(signal: AbortSignal, what: string): WebnmfError {
  const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  const err = new WebnmfError('runtime', `${what} aborted${why}`);
  err.name = 'AbortError';
  return err;
}
