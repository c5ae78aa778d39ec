/**
 * One iteration of ESPM's SmoothNMF in float64, written for clarity: the H step, the W step,
 * the Frobenius (Lee–Seung) variant and the loss exactly as ESPM reports it. See
 * ../shared/docs/espm-smoothnmf.md §2–§4 (from the repo root); the comments name its symbols.
 */
import { WebnmfError } from '../errors.js';
import { EPSILON, SIGMA_L, type Matrix64, type Problem } from '../types.js';
import { laplacianApply } from './laplacian.js';
import { matmul, matmulTransA, matmulTransB } from './linalg.js';
import { quadraticRoot, simplexEspm, simplexExact, simplexQuadratic } from './simplex.js';

/** The parts of a problem a step needs. */
export type StepParams = Pick<
  Problem,
  'loss' | 'lambda' | 'mu' | 'epsilonReg' | 'simplex' | 'simplexSolver' | 'simplexTol' | 'shape'
> & Partial<Pick<Problem, 'majorizer'>>;

const mat = (rows: number, cols: number, data = new Float64Array(rows * cols)): Matrix64 => ({ rows, cols, data });

/** D = G W (n × k), or W itself when G is absent. */
export function computeD(W: Matrix64, G?: Matrix64): Matrix64 {
  return G ? matmul(G, W) : W;
}

/** Column sums of a matrix. */
export function colSums(A: Matrix64): Float64Array {
  const s = new Float64Array(A.cols);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) s[j] += A.data[i * A.cols + j];
  return s;
}

/** Row sums of a matrix. */
export function rowSums(A: Matrix64): Float64Array {
  const s = new Float64Array(A.rows);
  for (let i = 0; i < A.rows; i++) {
    let acc = 0;
    for (let j = 0; j < A.cols; j++) acc += A.data[i * A.cols + j];
    s[i] = acc;
  }
  return s;
}

/**
 * R-products of the KL updates without storing X ⊘ (DH):
 *   mode 'DtR': returns Dᵀ (X ⊘ DH)  (k × p)
 *   mode 'RHt': returns (X ⊘ DH) Hᵀ  (n × k)
 * As ESPM does, when any ratio is NaN, DH is floored at ε and the product recomputed.
 */
export function ratioProduct(X: Matrix64, D: Matrix64, H: Matrix64, mode: 'DtR' | 'RHt'): Matrix64 {
  const out = ratioProductOnce(X, D, H, mode, false) ?? ratioProductOnce(X, D, H, mode, true);
  if (!out) {
    throw new WebnmfError('runtime', 'X ⊘ (D H) is NaN even with D H floored at ε: the iterates hold NaN or infinity (the data or the start overflowed float64); scale X down or check W0, H0 and G');
  }
  return out;
}

/** One attempt of `ratioProduct`; null when a ratio is NaN and DH is not floored yet. */
function ratioProductOnce(X: Matrix64, D: Matrix64, H: Matrix64, mode: 'DtR' | 'RHt', floor: boolean): Matrix64 | null {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  const x = X.data;
  const d = D.data;
  const h = H.data;
  const out = mode === 'DtR' ? mat(k, p) : mat(n, k);
  const o = out.data;
  const r = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    // r = (D H)_i· row, then X_i· ⊘ r in place.
    const d0 = d[i * k];
    for (let j = 0; j < p; j++) r[j] = d0 * h[j];
    for (let c = 1; c < k; c++) {
      const dc = d[i * k + c];
      const hrow = c * p;
      for (let j = 0; j < p; j++) r[j] += dc * h[hrow + j];
    }
    const xrow = i * p;
    let nan = false;
    for (let j = 0; j < p; j++) {
      const v = x[xrow + j] / (floor ? Math.max(r[j], EPSILON) : r[j]);
      nan ||= v !== v;
      r[j] = v;
    }
    if (nan) return null;
    if (mode === 'DtR') {
      for (let c = 0; c < k; c++) {
        const dc = d[i * k + c];
        const orow = c * p;
        for (let j = 0; j < p; j++) o[orow + j] += dc * r[j];
      }
    } else {
      for (let c = 0; c < k; c++) {
        const hrow = c * p;
        let acc = 0;
        for (let j = 0; j < p; j++) acc += r[j] * h[hrow + j];
        o[i * k + c] = acc;
      }
    }
  }
  return out;
}

/** Per-column simplex multiplier with the chosen solver. */
function simplexNu(num: Float64Array, den: Float64Array, rows: number, cols: number, params: StepParams): Float64Array {
  return params.simplexSolver === 'espm'
    ? simplexEspm(num, den, rows, cols)
    : simplexExact(num, den, rows, cols, params.simplexTol);
}

/**
 * The H step (§2): H⁺ = max(H ∘ A / (B + ν), ε) with
 *   A = Dᵀ (X ⊘ DH) [+ λσ m_k],   B = colsum(D) [+ μ_k/(H + ε_reg)] [+ λσ m_k + λ (HL)_kp].
 */
export function hStep(X: Matrix64, D: Matrix64, H: Matrix64, params: StepParams): Matrix64 {
  if (params.loss === 'frobenius') return hStepFrobenius(X, D, H);
  if (params.majorizer === 'tight' && params.lambda !== 0) return hStepTight(X, D, H, params);
  const k = H.rows;
  const p = H.cols;
  const num = ratioProduct(X, D, H, 'DtR').data; // A, then H ∘ A in place
  const den = new Float64Array(k * p);
  const colD = colSums(D);
  for (let c = 0; c < k; c++) den.fill(colD[c], c * p, (c + 1) * p);
  const mu = params.mu;
  for (let c = 0; c < k; c++) {
    if (mu[c] === 0) continue;
    for (let j = c * p; j < (c + 1) * p; j++) den[j] += mu[c] / (H.data[j] + params.epsilonReg);
  }
  const lambda = params.lambda;
  if (lambda !== 0) {
    if (!params.shape) throw new Error('hStep: λ > 0 needs an image shape');
    const HL = laplacianApply(H.data, k, params.shape);
    for (let c = 0; c < k; c++) {
      let mk = -Infinity;
      for (let j = c * p; j < (c + 1) * p; j++) mk = Math.max(mk, H.data[j]);
      const t = lambda * SIGMA_L * mk;
      for (let j = c * p; j < (c + 1) * p; j++) {
        num[j] += t;
        den[j] += t + lambda * HL[j];
      }
    }
  }
  for (let j = 0; j < k * p; j++) num[j] *= H.data[j];
  const nu = params.simplex === 'h' ? simplexNu(num, den, k, p, params) : null;
  const out = mat(k, p);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) {
      const idx = c * p + j;
      out.data[idx] = Math.max(num[idx] / (den[idx] + (nu ? nu[j] : 0)), EPSILON);
    }
  }
  return out;
}

/**
 * The H step with the tight Laplacian majoriser (`majorizer: 'tight'`). Per component the
 * penalty (λ/2) hᵀ L h = (λ/2) Σ_p deg_p h_p² − (λ/2) Σ_p Σ_{q~p} h_p h_q; the first part is kept
 * exactly, the second bounded with h_p h_q ≥ h̃_p h̃_q (1 + log(h_p/h̃_p) + log(h_q/h̃_q)). With
 * Jensen's bound of the KL term and the tangent of the log penalty, every entry then minimises
 *   (b + ν) h + (q/2) h² − a log h,   a = h̃ (Dᵀ(X ⊘ DH̃) + λ (Adj h̃)),
 *   b = colsum(D) + μ_k/(h̃ + ε_reg),  q = λ deg_p,
 * whose root is closed-form (`quadraticRoot`). Monotone (an MM step) with the fixed points of
 * ESPM's step, but without its λσ·max H damping.
 */
export function hStepTight(X: Matrix64, D: Matrix64, H: Matrix64, params: StepParams): Matrix64 {
  const k = H.rows;
  const p = H.cols;
  const shape = params.shape;
  if (!shape) throw new Error('hStepTight: λ > 0 needs an image shape');
  const lambda = params.lambda;
  const a = ratioProduct(X, D, H, 'DtR').data; // Dᵀ R, then a in place
  const b = new Float64Array(k * p);
  const q = new Float64Array(k * p);
  const colD = colSums(D);
  // Σ_{q~p} h̃_q = deg_p h̃_p − (H L)_p.
  const HL = laplacianApply(H.data, k, shape);
  const deg = laplacianDegrees(shape);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) {
      const idx = c * p + j;
      const h = H.data[idx];
      const nb = deg[j] * h - HL[idx];
      a[idx] = h * (a[idx] + lambda * nb);
      b[idx] = colD[c] + (params.mu[c] !== 0 ? params.mu[c] / (h + params.epsilonReg) : 0);
      q[idx] = lambda * deg[j];
    }
  }
  const nu = params.simplex === 'h' ? simplexQuadratic(a, b, q, k, p, params.simplexTol) : null;
  const out = mat(k, p);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) {
      const idx = c * p + j;
      out.data[idx] = Math.max(quadraticRoot(a[idx], b[idx], q[idx], nu ? nu[j] : 0).h, EPSILON);
    }
  }
  return out;
}

/** Neighbour count of every pixel on the 4-neighbour grid with free edges (2, 3 or 4; 0 for 1 × 1). */
function laplacianDegrees(shape: { rows: number; cols: number }): Float64Array {
  const { rows, cols } = shape;
  const deg = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      deg[r * cols + c] = (c > 0 ? 1 : 0) + (c < cols - 1 ? 1 : 0) + (r > 0 ? 1 : 0) + (r < rows - 1 ? 1 : 0);
    }
  }
  return deg;
}

/**
 * The W step (§2), using the new H: W⁺ = max(W ∘ (Gᵀ (X ⊘ GWH) Hᵀ) / (colsum(G)_j · rowsum(H)_k + ν_k), ε).
 * Without G, Gᵀ is the identity and colsum(G) = 1.
 */
export function wStep(X: Matrix64, G: Matrix64 | undefined, W: Matrix64, H: Matrix64, params: StepParams): Matrix64 {
  if (params.loss === 'frobenius') return wStepFrobenius(X, G, W, H);
  const D = computeD(W, G);
  const RHt = ratioProduct(X, D, H, 'RHt'); // n × k
  const m = W.rows;
  const k = W.cols;
  const mult = G ? matmulTransA(G, RHt) : RHt; // m × k
  const colG = G ? colSums(G) : new Float64Array(m).fill(1);
  const rowH = rowSums(H);
  const num = new Float64Array(m * k);
  const den = new Float64Array(m * k);
  for (let j = 0; j < m; j++) {
    for (let c = 0; c < k; c++) {
      num[j * k + c] = W.data[j * k + c] * mult.data[j * k + c];
      den[j * k + c] = colG[j] * rowH[c];
    }
  }
  const nu = params.simplex === 'w' ? simplexNu(num, den, m, k, params) : null;
  const out = mat(m, k);
  for (let j = 0; j < m; j++) {
    for (let c = 0; c < k; c++) {
      out.data[j * k + c] = Math.max(num[j * k + c] / (den[j * k + c] + (nu ? nu[c] : 0)), EPSILON);
    }
  }
  return out;
}

/** Lee–Seung Frobenius H step: H ∘ (DᵀX) / (DᵀD H), floored at ε. */
export function hStepFrobenius(X: Matrix64, D: Matrix64, H: Matrix64): Matrix64 {
  const DtX = matmulTransA(D, X);
  const DtDH = matmul(matmulTransA(D, D), H);
  const out = mat(H.rows, H.cols);
  for (let j = 0; j < out.data.length; j++) {
    out.data[j] = Math.max((H.data[j] * DtX.data[j]) / DtDH.data[j], EPSILON);
  }
  return out;
}

/** Lee–Seung Frobenius W step with G (ESPM's l2): W ∘ (Gᵀ X Hᵀ) / (GᵀG W H Hᵀ), floored at ε. */
export function wStepFrobenius(X: Matrix64, G: Matrix64 | undefined, W: Matrix64, H: Matrix64): Matrix64 {
  const XHt = matmulTransB(X, H); // n × k
  const HHt = matmulTransB(H, H); // k × k
  const numer = G ? matmulTransA(G, XHt) : XHt;
  const GtGW = G ? matmulTransA(G, matmul(G, W)) : W;
  const denom = matmul(GtGW, HHt);
  const out = mat(W.rows, W.cols);
  for (let j = 0; j < out.data.length; j++) {
    out.data[j] = Math.max((W.data[j] * numer.data[j]) / denom.data[j], EPSILON);
  }
  return out;
}

/** C = Σ X log max(X, ε) − Σ X, the constant that makes ESPM's KL loss the generalised KL divergence. */
/** The per-entry ratio A / Aprev is clamped to [1/R, R] before the power β (see `extrapolate`). */
export const EXTRAPOLATION_RATIO_CLAMP = 4;

/**
 * The extrapolated point A ∘ (A / Aprev)^β, the ratio clamped to [1/4, 4] per entry, floored at ε;
 * with `unitColumns` each column (a pixel of H) rescaled to sum 1 (the simplex on H).
 * `SmoothNMFOptions.extrapolation`. Geometric (a straight line through log A): an entry never
 * drops to the floor in one step, which the linear A + β (A − Aprev) did and then stalled there.
 */
export function extrapolate(A: Matrix64, Aprev: Matrix64, beta: number, unitColumns: boolean): Matrix64 {
  if (A.rows !== Aprev.rows || A.cols !== Aprev.cols) throw new Error(`extrapolate: ${A.rows}×${A.cols} against ${Aprev.rows}×${Aprev.cols}`);
  const out = mat(A.rows, A.cols);
  const y = out.data;
  const R = EXTRAPOLATION_RATIO_CLAMP;
  for (let i = 0; i < y.length; i++) {
    const r = Math.min(Math.max(A.data[i] / Aprev.data[i], 1 / R), R);
    y[i] = Math.max(A.data[i] * Math.pow(r, beta), EPSILON);
  }
  if (unitColumns) {
    for (let j = 0; j < A.cols; j++) {
      let s = 0;
      for (let r = 0; r < A.rows; r++) s += y[r * A.cols + j];
      for (let r = 0; r < A.rows; r++) y[r * A.cols + j] /= s;
    }
  }
  return out;
}

export function klConstant(X: Matrix64): number {
  let c = 0;
  for (let j = 0; j < X.data.length; j++) {
    const x = X.data[j];
    c += x * Math.log(Math.max(x, EPSILON)) - x;
  }
  return c;
}

export interface LossParts {
  full: number;
  /** The data term: generalised KL, or ½‖X − DH‖² for Frobenius. */
  kl: number;
  logReg: number;
  laplacian: number;
}

/**
 * The loss as ESPM reports it (§4), each part divided by n·p:
 *   KL: Σ Y − Σ max(X, ε) log Y + C, Y = max(D, ε) · max(H, ε)
 *   log: Σ_kp μ_k log(H_kp + ε_reg);  Laplacian: (λ/2) Σ H ∘ (HL).
 */
export function lossParts(X: Matrix64, D: Matrix64, H: Matrix64, params: StepParams, klConst: number): LossParts {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  const numel = n * p;
  const Dc = D.data.map((v) => Math.max(v, EPSILON));
  const Hc = H.data.map((v) => Math.max(v, EPSILON));
  const x = X.data;
  const frob = params.loss === 'frobenius';
  let data = 0;
  const y = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const d0 = Dc[i * k];
    for (let j = 0; j < p; j++) y[j] = d0 * Hc[j];
    for (let c = 1; c < k; c++) {
      const dc = Dc[i * k + c];
      const hrow = c * p;
      for (let j = 0; j < p; j++) y[j] += dc * Hc[hrow + j];
    }
    const xrow = i * p;
    let acc = 0;
    if (frob) {
      for (let j = 0; j < p; j++) {
        const res = x[xrow + j] - y[j];
        acc += 0.5 * res * res;
      }
    } else {
      for (let j = 0; j < p; j++) {
        const xv = x[xrow + j];
        // max(X, ε) · log Y, with the X = 0 terms (ε log Y) kept as ESPM has them.
        acc += y[j] - (xv > EPSILON ? xv : EPSILON) * Math.log(y[j]);
      }
    }
    data += acc;
  }
  if (params.loss !== 'frobenius') data += klConst;
  let logReg = 0;
  for (let c = 0; c < k; c++) {
    if (params.mu[c] === 0) continue;
    let s = 0;
    for (let j = c * p; j < (c + 1) * p; j++) s += Math.log(H.data[j] + params.epsilonReg);
    logReg += params.mu[c] * s;
  }
  let lap = 0;
  if (params.lambda !== 0 && params.shape) {
    const HL = laplacianApply(H.data, k, params.shape);
    for (let j = 0; j < HL.length; j++) lap += H.data[j] * HL[j];
    lap *= 0.5 * params.lambda;
  }
  const kl = data / numel;
  return { kl, logReg: logReg / numel, laplacian: lap / numel, full: kl + logReg / numel + lap / numel };
}

/** ESPM's relative change: max |A − A_old| / (A + tol · mean(A)). */
export function relativeChange(A: Matrix64, Aold: Matrix64, tol: number): number {
  let mean = 0;
  for (let j = 0; j < A.data.length; j++) mean += A.data[j];
  mean /= A.data.length;
  let worst = 0;
  for (let j = 0; j < A.data.length; j++) {
    worst = Math.max(worst, Math.abs(A.data[j] - Aold.data[j]) / (A.data[j] + tol * mean));
  }
  return worst;
}
