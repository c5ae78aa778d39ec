/**
 * PCA of a spectrum image (a diagnostic: signed, orthogonal components).
 *
 * Observations are pixels, variables are channels. With X n × p (channels × pixels):
 *  1. scaling (per channel j or per element), default 'standardize':
 *       'standardize'  Z_jp = (X_jp − μ_j) / σ_j       (HS-MOSAIC, Jolliffe; σ_j the population
 *                      standard deviation; a constant channel gets σ_j = 1 and a warning)
 *       'poisson'      Z_jp = X_jp / √(a_p b_j)  (Keenan & Kotula 2004, HyperSpy's
 *                      normalize_poissonian_noise: a_p = Σ_j X_jp, b_j = Σ_p X_jp; 0/0 → 0),
 *                      then centred per channel when `center` (HyperSpy's default centre=None is
 *                      `center: false`)
 *       'none'         Z = X, centred per channel when `center`
 *  2. Z ≈ P T with P (n × k) the loadings (orthonormal columns, the principal component spectra)
 *     and T = Pᵀ Z (k × p) the scores (maps). explainedVariance_c = s_c² / (p − 1) (scikit-learn's
 *     convention), explainedVarianceRatio_c = that / total variance (trace of the covariance).
 *
 * Methods: 'exact' = eigendecomposition of the n × n covariance Z Zᵀ / (p − 1) (Jacobi; for up to
 * a few hundred channels) and the full scree; 'randomized' = Halko–Martinsson–Tropp on Z
 * (CPU: src/cpu/truncated-svd.ts truncatedSVD; WebGPU: src/gpu/modes/pca.ts). 'auto': exact on the CPU
 * when n ≤ 400, else randomized.
 * Signs: each loading's entry of largest magnitude is made positive (scores follow).
 */
import { Estimator } from '../base-estimator.js';
import { symmetricEigen } from '../cpu/linalg.js';
import { truncatedSVD } from '../cpu/truncated-svd.js';
import { WebnmfError } from '../errors.js';
import type { BackendName, Matrix, Matrix64 } from '../types.js';
import { bool, checkMatrix, checkOptions, input, int, oneOf, resolveBackend, usage, type FitSummary } from './common.js';

export type PCAScaling = 'standardize' | 'poisson' | 'none';

export interface PCAOptions {
  components: number;
  /** Default 'standardize'. */
  scaling?: PCAScaling;
  /** Subtract each channel's mean after scaling. Default true ('standardize' requires it). */
  center?: boolean;
  /** Default 'auto'. */
  method?: 'auto' | 'exact' | 'randomized';
  /** Seed of the randomized sketch. Default 0. */
  seed?: number;
  /** Power iterations of the randomized method. Default 7 (4 when k ≥ 0.1 min(n, p)). */
  powerIterations?: number;
  /** Extra sketch columns. Default 10. */
  oversamples?: number;
  backend?: BackendName;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export interface PCAResult {
  /** n × k principal component spectra (orthonormal columns). */
  loadings: Matrix64;
  /** k × p scores (maps). */
  scores: Matrix64;
  /** k variances along the components (descending). */
  explainedVariance: Float64Array;
  explainedVarianceRatio: Float64Array;
  singularValues: Float64Array;
  /** Total variance of the scaled data (trace of its covariance). */
  totalVariance: number;
  /** 'exact' only: every eigenvalue of the covariance, descending (the scree plot). */
  scree?: Float64Array;
  /** Per-channel mean subtracted (zeros when not centred) and scale divided (ones when none; Poisson: b_j). */
  mean: Float64Array;
  scale: Float64Array;
  scaling: PCAScaling;
  method: 'exact' | 'randomized';
  summary: FitSummary;
  warnings: string[];
}

const CONSTRAINTS = {
  components: int(1),
  scaling: oneOf('standardize', 'poisson', 'none'),
  center: bool,
  method: oneOf('auto', 'exact', 'randomized'),
  seed: int(0),
  powerIterations: int(0),
  oversamples: int(0),
  backend: oneOf('cpu', 'webgpu', 'auto'),
};

/** Scales (and centres) X as the options say; returns Z (n × p, float64) and the per-channel mean/scale. */
export function pcaPreprocess(
  X: Matrix,
  scaling: PCAScaling,
  center: boolean,
  warn: (m: string) => void = () => {},
): { Z: Matrix64; mean: Float64Array; scale: Float64Array } {
  const n = X.rows;
  const p = X.cols;
  const Z = new Float64Array(n * p);
  const mean = new Float64Array(n);
  const scale = new Float64Array(n).fill(1);
  if (scaling === 'poisson') {
    const a = new Float64Array(p);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const v = X.data[i * p + j];
        a[j] += v;
        b[i] += v;
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const c = Math.sqrt(a[j] * b[i]);
        Z[i * p + j] = c > 0 ? X.data[i * p + j] / c : 0;
      }
      scale[i] = Math.sqrt(b[i]);
    }
  } else {
    for (let i = 0; i < n * p; i++) Z[i] = X.data[i];
  }
  if (center || scaling === 'standardize') {
    const constant: number[] = [];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += Z[i * p + j];
      const mu = s / p;
      let ss = 0;
      for (let j = 0; j < p; j++) {
        const d = Z[i * p + j] - mu;
        Z[i * p + j] = d;
        ss += d * d;
      }
      mean[i] = mu;
      if (scaling === 'standardize') {
        const sd = Math.sqrt(ss / p);
        if (sd > 0) {
          for (let j = 0; j < p; j++) Z[i * p + j] /= sd;
          scale[i] = sd;
        } else constant.push(i);
      }
    }
    if (constant.length > 0) {
      const list = constant.length > 5 ? `${constant.slice(0, 5).join(', ')}, … (${constant.length} in all)` : constant.join(', ');
      warn(`PCA: channels ${list} are constant (zero variance); they are left unscaled (σ = 1) and add nothing to the components`);
    }
  }
  return { Z: { rows: n, cols: p, data: Z }, mean, scale };
}

/** Flips each loading so its entry of largest magnitude is positive; flips the scores with it. */
export function flipSigns(P: Matrix64, T: Matrix64): void {
  const n = P.rows;
  const k = P.cols;
  const p = T.cols;
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let i = 0; i < n; i++) if (Math.abs(P.data[i * k + c]) > Math.abs(best)) best = P.data[i * k + c];
    if (best < 0) {
      for (let i = 0; i < n; i++) P.data[i * k + c] = -P.data[i * k + c];
      for (let j = 0; j < p; j++) T.data[c * p + j] = -T.data[c * p + j];
    }
  }
}

/** T = Pᵀ Z (k × p). */
export function scoresOf(P: Matrix64, Z: Matrix64): Matrix64 {
  const n = Z.rows;
  const p = Z.cols;
  const k = P.cols;
  const T = new Float64Array(k * p);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const w = P.data[i * k + c];
      if (w === 0) continue;
      const to = c * p;
      const zo = i * p;
      for (let j = 0; j < p; j++) T[to + j] += w * Z.data[zo + j];
    }
  }
  return { rows: k, cols: p, data: T };
}

/** Exact PCA of Z through the eigendecomposition of its covariance. */
export function pcaExact(Z: Matrix64, k: number): { P: Matrix64; variance: Float64Array; scree: Float64Array } {
  const n = Z.rows;
  const p = Z.cols;
  const C = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      const ao = a * p;
      const bo = b * p;
      for (let j = 0; j < p; j++) s += Z.data[ao + j] * Z.data[bo + j];
      s /= Math.max(p - 1, 1);
      C[a * n + b] = s;
      C[b * n + a] = s;
    }
  }
  const eig = symmetricEigen({ rows: n, cols: n, data: C });
  const order = [...eig.values.keys()].sort((x, y) => eig.values[y] - eig.values[x]);
  const P = new Float64Array(n * k);
  const variance = new Float64Array(k);
  order.slice(0, k).forEach((src, c) => {
    variance[c] = Math.max(eig.values[src], 0);
    for (let i = 0; i < n; i++) P[i * k + c] = eig.vectors.data[i * n + src];
  });
  const scree = Float64Array.from(order, (src) => Math.max(eig.values[src], 0));
  return { P: { rows: n, cols: k, data: P }, variance, scree };
}

/** The functional twin of `new PCA(options).fit(X)`. */
export async function fitPCA(X: Matrix, options: PCAOptions): Promise<PCAResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  checkOptions('PCA', options, CONSTRAINTS, ['signal', 'onWarning']);
  if (options.components === undefined) throw usage('PCA: options.components (the number of components k) is required');
  checkMatrix(X, 'X', { nonNegative: false });
  const n = X.rows;
  const p = X.cols;
  const k = options.components;
  const scaling = options.scaling ?? 'standardize';
  const center = options.center ?? true;
  if (scaling === 'standardize' && options.center === false) {
    throw usage("PCA: scaling 'standardize' subtracts the channel means by definition; drop center: false or use scaling 'none'");
  }
  if (scaling === 'poisson') checkMatrix(X, 'X', { nonNegative: true });
  const maxK = Math.min(n, center ? p - 1 : p);
  if (k > maxK) {
    throw input(
      `PCA: components = ${k} exceeds what the data allows: at most min(channels, pixels${center ? ' − 1' : ''}) = ` +
        `min(${n}, ${center ? p - 1 : p}) = ${maxK} components exist. Choose components ≤ ${maxK}.`,
    );
  }
  const backend = await resolveBackend(options.backend ?? 'auto', warn);
  const methodOpt = options.method ?? 'auto';
  const method: 'exact' | 'randomized' =
    methodOpt === 'auto' ? (backend === 'cpu' && n <= 400 ? 'exact' : 'randomized') : methodOpt;
  if (method === 'exact' && backend === 'webgpu') {
    throw usage("PCA: method 'exact' runs on the CPU reference; use backend 'cpu', or method 'randomized' on WebGPU");
  }
  const { Z, mean, scale } = pcaPreprocess(X, scaling, center || scaling === 'standardize', warn);
  let totalSS = 0;
  for (let i = 0; i < Z.data.length; i++) totalSS += Z.data[i] * Z.data[i];
  const denom = Math.max(p - 1, 1);
  const totalVariance = totalSS / denom;

  let P: Matrix64;
  let variance: Float64Array;
  let scree: Float64Array | undefined;
  let backendInfo = 'cpu (float64 reference)';
  if (method === 'exact') {
    ({ P, variance, scree } = pcaExact(Z, k));
  } else if (backend === 'webgpu') {
    const gpu = await import('../gpu/modes/pca.js');
    const r = await gpu.pcaRandomizedGpu(Z, k, {
      seed: options.seed ?? 0,
      oversamples: options.oversamples ?? 10,
      powerIterations: options.powerIterations ?? (k < 0.1 * Math.min(n, p) ? 7 : 4),
    });
    P = r.P;
    variance = r.variance;
    backendInfo = r.backendInfo;
  } else {
    const svd = truncatedSVD(Z, k, {
      seed: options.seed ?? 0,
      oversamples: options.oversamples,
      powerIterations: options.powerIterations,
      method: 'randomized',
    });
    P = svd.U;
    variance = Float64Array.from(svd.S, (s) => (s * s) / denom);
  }
  const T = scoresOf(P, Z);
  flipSigns(P, T);
  if (options.signal?.aborted) throw new WebnmfError('runtime', 'PCA aborted');
  const explainedVarianceRatio = Float64Array.from(variance, (v) => (totalVariance > 0 ? v / totalVariance : 0));
  return {
    loadings: P,
    scores: T,
    explainedVariance: variance,
    explainedVarianceRatio,
    singularValues: Float64Array.from(variance, (v) => Math.sqrt(v * denom)),
    totalVariance,
    ...(scree ? { scree } : {}),
    mean,
    scale,
    scaling,
    method,
    summary: {
      mode: 'pca',
      backend,
      backendInfo,
      iterations: 0,
      converged: true,
      finalError: Math.sqrt(Math.max(totalSS - variance.reduce((a, v) => a + v * denom, 0), 0)),
      stopReason: method,
      seconds: (performance.now() - t0) / 1000,
    },
    warnings,
  };
}

/** PCA as an estimator: `fitTransform(X)` returns the scores (k × pixels). */
export class PCA extends Estimator<PCAOptions, PCAResult> {
  constructor(options: PCAOptions) {
    super(options, 'PCA');
  }
  protected run(X: Matrix, options: PCAOptions): Promise<PCAResult> {
    return fitPCA(X, options);
  }
  async fitTransform(X: Matrix, extra: Partial<PCAOptions> = {}): Promise<Matrix64> {
    await this.fit(X, extra);
    return this.fitted.scores;
  }
  /** Scores of new data with the fitted scaling and loadings (Poisson scaling uses the new data's pixel sums). */
  transform(X: Matrix): Matrix64 {
    const r = this.fitted;
    if (X.rows !== r.loadings.rows) {
      throw new WebnmfError('input', `PCA.transform: X has ${X.rows} channels but the model was fitted on ${r.loadings.rows}`);
    }
    const n = X.rows;
    const p = X.cols;
    const Z = new Float64Array(n * p);
    const a = new Float64Array(p);
    if (r.scaling === 'poisson') for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) a[j] += X.data[i * p + j];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const v = X.data[i * p + j];
        if (r.scaling === 'poisson') {
          const c = Math.sqrt(a[j]) * r.scale[i];
          Z[i * p + j] = (c > 0 ? v / c : 0) - r.mean[i];
        } else Z[i * p + j] = (v - r.mean[i]) / r.scale[i];
      }
    }
    return scoresOf(r.loadings, { rows: n, cols: p, data: Z });
  }
  get loadings(): Matrix64 {
    return this.fitted.loadings;
  }
  get scores(): Matrix64 {
    return this.fitted.scores;
  }
  get explainedVariance(): Float64Array {
    return this.fitted.explainedVariance;
  }
  get explainedVarianceRatio(): Float64Array {
    return this.fitted.explainedVarianceRatio;
  }
}
