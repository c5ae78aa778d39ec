/**
 * The starting point of a fit, exactly as ESPM 1.1.3 builds it (`espm.estimators.updates.
 * initialize_algorithms`), which calls scikit-learn's `_initialize_nmf(X, k, init, random_state)`
 * on the data X (n × p; sklearn's W is our D, n × k; sklearn's H is our H, k × p).
 *
 * sklearn's `_initialize_nmf`:
 * - `random`: avg = sqrt(mean(X) / k); H = |avg · N(0,1)| (k × p) drawn first, then D = |avg · N(0,1)|.
 * - `nndsvd` (Boutsidis & Gallopoulos 2008) from the k leading singular triplets (randomized SVD):
 *   component 0 = (√S0 |U0|, √S0 |V0|); component j ≥ 1 = the positive or the negative parts of
 *   (U_j, V_j), whichever has the larger product of norms, scaled by √(S_j · that product).
 *   Entries below 1e-6 (sklearn's eps) are set to 0.
 * - `nndsvda`: those zeros filled with mean(X); `nndsvdar`: with |mean(X) · N(0,1) / 100|.
 * - default (no method): `nndsvda` when k ≤ min(n, p), else `random`.
 *
 * ESPM's post-processing, in order:
 * - simplex on H: H ← nan_to_num(H, 1/k); each column of H divided by its sum s_p; D ← D · mean(s).
 * - G given: W = |lstsq(G, D)| (m × k); with the simplex on W: NaN → 1/m and every column of W
 *   divided by its sum. G absent: W = D (and, as in ESPM, no simplex normalisation of W).
 * - W and H clamped at ε = 1e-14.
 * Custom starts: W0 and H0 both given are only shape-checked and clamped. Only one of them given
 * follows ESPM too: H0 alone → D = |lstsq(H0ᵀ, Xᵀ)|ᵀ, then W as above; W0 alone → H = |lstsq(G W0, X)|,
 * columns divided by their sums with the simplex on H.
 *
 * Deviations, only where ESPM/sklearn would produce NaN: a nndsvd component whose chosen parts have
 * a zero norm (sklearn computes 0 · (0/0)) is set to 0, and a column of H (or W) whose sum is 0 in
 * the simplex normalisation becomes uniform (1/k, or 1/m) instead of 0/0.
 */
import { inputError, usageError } from '../errors.js';
import { Random } from '../random.js';
import { EPSILON, type InitMethod, type Matrix, type Matrix64, type SimplexMode } from '../types.js';
import { lstsq, matmul, norm2, transpose, zeros } from './linalg.js';
import { truncatedSVD } from './truncated-svd.js';

/** sklearn's `_initialize_nmf` eps: nndsvd entries below it are set to 0. */
export const NNDSVD_EPS = 1e-6;

export interface InitOptions {
  /** Number of components. */
  k: number;
  /** Method; undefined or 'auto' = sklearn's `init=None` rule. 'custom' needs W0 and/or H0. */
  method?: InitMethod | 'auto';
  /** Known matrix G (n × m). */
  G?: Matrix;
  simplex: SimplexMode;
  /** Seed of the PRNG ('random', 'nndsvdar' and the randomized SVD). */
  seed: number;
  /** Custom start, m × k (n × k without G). */
  W0?: Matrix;
  /** Custom start, k × p. */
  H0?: Matrix;
  /**
   * Internal (prepareProblem): every value of X is already known finite and ≥ 0, so the check
   * pass over X is skipped. Direct callers leave it unset.
   */
  xChecked?: boolean;
}

export interface InitResult {
  /** m × k (n × k when G is absent). */
  W: Matrix64;
  /** k × p. */
  H: Matrix64;
}

const shape = (A: { rows: number; cols: number }): string => `${A.rows} × ${A.cols}`;

function mean(A: Matrix): number {
  let s = 0;
  for (let i = 0; i < A.data.length; i++) s += A.data[i];
  return s / A.data.length;
}

function clampAt(A: Matrix, floor: number): Matrix64 {
  const out = new Float64Array(A.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = A.data[i];
    // NaN stays NaN (as np.maximum does): an upstream NaN must not be hidden.
    out[i] = v < floor ? floor : v;
  }
  return { rows: A.rows, cols: A.cols, data: out };
}

function abs(A: Matrix64): Matrix64 {
  for (let i = 0; i < A.data.length; i++) A.data[i] = Math.abs(A.data[i]);
  return A;
}

/** In place: NaN → fill, then every column divided by its sum (a zero-sum column → fill). */
function normalizeColumns(A: Matrix64, fill: number): Float64Array {
  const { rows, cols, data } = A;
  for (let i = 0; i < data.length; i++) if (Number.isNaN(data[i])) data[i] = fill;
  const scale = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) scale[j] += data[i * cols + j];
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) data[i * cols + j] = scale[j] === 0 ? 1 / rows : data[i * cols + j] / scale[j];
  }
  return scale;
}

/** sklearn's `_initialize_nmf`: returns D (n × k) and H (k × p). */
export function sklearnInitialize(
  X: Matrix,
  k: number,
  method: 'random' | 'nndsvd' | 'nndsvda' | 'nndsvdar',
  seed: number,
): { D: Matrix64; H: Matrix64 } {
  const n = X.rows;
  const p = X.cols;
  if (method !== 'random' && k > Math.min(n, p)) {
    throw usageError(`init '${method}' needs k ≤ min(channels, pixels) = ${Math.min(n, p)}, got k = ${k}; use init 'random'`);
  }
  const xMean = mean(X);
  if (method === 'random') {
    const rng = new Random(seed);
    const avg = Math.sqrt(xMean / k);
    const H = zeros(k, p);
    for (let i = 0; i < H.data.length; i++) H.data[i] = Math.abs(avg * rng.normal());
    const D = zeros(n, k);
    for (let i = 0; i < D.data.length; i++) D.data[i] = Math.abs(avg * rng.normal());
    return { D, H };
  }

  const { U, S, Vt } = truncatedSVD(X, k, { seed });
  const D = zeros(n, k);
  const H = zeros(k, p);
  const s0 = Math.sqrt(S[0]);
  for (let i = 0; i < n; i++) D.data[i * k] = s0 * Math.abs(U.data[i * k]);
  for (let c = 0; c < p; c++) H.data[c] = s0 * Math.abs(Vt.data[c]);
  const x = new Float64Array(n);
  const y = new Float64Array(p);
  const part = (v: Float64Array, positive: boolean): Float64Array =>
    v.map((e) => (positive ? Math.max(e, 0) : Math.abs(Math.min(e, 0))));
  for (let j = 1; j < k; j++) {
    for (let i = 0; i < n; i++) x[i] = U.data[i * k + j];
    y.set(Vt.data.subarray(j * p, (j + 1) * p));
    const xp = part(x, true);
    const yp = part(y, true);
    const xn = part(x, false);
    const yn = part(y, false);
    const xpn = norm2(xp);
    const ypn = norm2(yp);
    const xnn = norm2(xn);
    const ynn = norm2(yn);
    const mp = xpn * ypn;
    const mn = xnn * ynn;
    // sklearn: `if m_p > m_n` takes the positive parts, else the negative ones.
    const [u, v, un, vn, sigma] = mp > mn ? [xp, yp, xpn, ypn, mp] : [xn, yn, xnn, ynn, mn];
    if (sigma === 0) continue; // sklearn: 0 · (0/0) = NaN; the component is 0 here.
    const lbd = Math.sqrt(S[j] * sigma);
    for (let i = 0; i < n; i++) D.data[i * k + j] = (lbd * u[i]) / un;
    for (let c = 0; c < p; c++) H.data[j * p + c] = (lbd * v[c]) / vn;
  }
  for (const A of [D, H]) for (let i = 0; i < A.data.length; i++) if (A.data[i] < NNDSVD_EPS) A.data[i] = 0;

  if (method === 'nndsvda') {
    for (const A of [D, H]) for (let i = 0; i < A.data.length; i++) if (A.data[i] === 0) A.data[i] = xMean;
  } else if (method === 'nndsvdar') {
    const rng = new Random(seed);
    // sklearn fills W's zeros first, then H's, each in row-major order.
    for (const A of [D, H]) {
      for (let i = 0; i < A.data.length; i++) if (A.data[i] === 0) A.data[i] = Math.abs((xMean * rng.normal()) / 100);
    }
  }
  return { D, H };
}

/**
 * Per-pixel least-squares maps for fixed spectra D (n × k): |lstsq(D, X)| with every column
 * divided by its sum (a column that comes out all zero gets 1/k) — ESPM's start rule for H
 * when only W is given (simplex on H), also autoFit's full-resolution start (src/auto/bin.ts
 * blendedStart). The scale of X and of D cancels in the column sums, so X may be the raw counts.
 * Cost: one (k × n) by (n × p) product, k·n·p multiply–adds.
 */
export function leastSquaresMaps(X: Matrix, D: Matrix): Matrix64 {
  if (D.rows !== X.rows) throw usageError(`leastSquaresMaps: D has ${D.rows} rows and X ${X.rows}; both need one per channel`);
  const H = abs(lstsq(D, X));
  normalizeColumns(H, Number.NaN);
  return H;
}

function checkShape(A: Matrix, rows: number, cols: number, what: string): void {
  if (A.rows !== rows || A.cols !== cols || A.data.length !== rows * cols) {
    throw inputError(`${what} must be ${rows} × ${cols}, got ${shape(A)}${A.data.length !== A.rows * A.cols ? ` with ${A.data.length} values` : ''}`);
  }
}

/** W from D: |lstsq(G, D)| with the simplex on W normalised; D itself without G. */
function wFromD(D: Matrix64, G: Matrix | undefined, simplex: SimplexMode): Matrix64 {
  if (G === undefined) return D;
  const W = abs(lstsq(G, D));
  if (simplex === 'w') normalizeColumns(W, 1 / W.rows);
  return W;
}

/**
 * ESPM's initialisation. X is n × p (the data the solver sees, i.e. normalised when normalize is
 * on), G is n × m. Returns W (m × k, or n × k without G) and H (k × p), both ≥ ε.
 */
export function initialize(X: Matrix, opts: InitOptions): InitResult {
  const { k, G, simplex, seed } = opts;
  const n = X.rows;
  const p = X.cols;
  if (X.data.length !== n * p) throw inputError(`X is ${shape(X)} but has ${X.data.length} values`);
  if (!Number.isInteger(k) || k < 1) throw usageError(`components must be a positive integer, got ${k}`);
  if (opts.xChecked !== true) {
    const d = X.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (!(v >= 0 && v < Infinity)) throw inputError(`X must be non-negative and finite-valued; X[${Math.floor(i / p)}][${i % p}] = ${v}`);
    }
  }
  if (G !== undefined) {
    if (G.rows !== n || G.data.length !== G.rows * G.cols) {
      throw inputError(`G must have ${n} rows (one per channel of X, which is ${shape(X)}), got ${shape(G)}`);
    }
  }
  const m = G === undefined ? n : G.cols;

  const { W0, H0 } = opts;
  if (W0 !== undefined) checkShape(W0, m, k, G === undefined ? 'W0 (channels × components, no G given)' : 'W0 (G columns × components)');
  if (H0 !== undefined) checkShape(H0, k, p, 'H0 (components × pixels)');
  if (W0 !== undefined && H0 !== undefined) return { W: clampAt(W0, EPSILON), H: clampAt(H0, EPSILON) };
  if (opts.method === 'custom' && W0 === undefined && H0 === undefined) {
    throw usageError("init 'custom' needs W0 and/or H0");
  }

  let W: Matrix64;
  let H: Matrix64;
  if (H0 !== undefined) {
    // ESPM: D = |lstsq(Hᵀ, Xᵀ)|ᵀ, then W from D.
    const D = transpose(abs(lstsq(transpose(H0), transpose(X))));
    H = clampAt(H0, EPSILON);
    W = wFromD(D, G, simplex);
  } else if (W0 !== undefined) {
    // ESPM: H = |lstsq(G W, X)|, columns normalised with the simplex on H (no NaN fill there).
    W = clampAt(W0, EPSILON);
    const D = G === undefined ? W0 : matmul(G, W0);
    H = simplex === 'h' ? leastSquaresMaps(X, D) : abs(lstsq(D, X));
  } else {
    const method = opts.method === undefined || opts.method === 'auto' ? (k <= Math.min(n, p) ? 'nndsvda' : 'random') : opts.method;
    if (method === 'custom') throw usageError("init 'custom' needs W0 and/or H0");
    const init = sklearnInitialize(X, k, method, seed);
    H = init.H;
    const D = init.D;
    if (simplex === 'h') {
      const scale = normalizeColumns(H, 1 / k);
      let meanScale = 0;
      for (let c = 0; c < p; c++) meanScale += scale[c];
      meanScale /= p;
      for (let i = 0; i < D.data.length; i++) D.data[i] *= meanScale;
    }
    W = wFromD(D, G, simplex);
  }
  return { W: clampAt(W, EPSILON), H: clampAt(H, EPSILON) };
}
