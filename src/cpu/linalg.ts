/**
 * Small dense linear algebra in float64 for the CPU reference: products, a symmetric eigensolver,
 * a thin SVD, min-norm least squares and NNLS (the truncated SVD is in truncated-svd.ts).
 *
 * All matrices are row-major `Matrix` objects; inputs may be float32 or float64 (they are only
 * read), outputs are float64. Every function checks the shapes it is given and throws a
 * WebnmfError naming both shapes when they do not fit.
 */
import { WebnmfError, usageError } from '../errors.js';
import type { Matrix, Matrix64 } from '../types.js';

export const EPS64 = 2.220446049250313e-16;

// ---------------------------------------------------------------------------------------------
// Construction and basic products

/** A zero-filled rows × cols float64 matrix. */
export function zeros(rows: number, cols: number): Matrix64 {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** A float64 matrix from nested arrays (rows of equal length). */
export function fromRows(rows: readonly (readonly number[])[]): Matrix64 {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0].length;
  const out = zeros(r, c);
  for (let i = 0; i < r; i++) {
    if (rows[i].length !== c) throw usageError(`fromRows: row ${i} has ${rows[i].length} entries, expected ${c}`);
    for (let j = 0; j < c; j++) out.data[i * c + j] = rows[i][j];
  }
  return out;
}

/** Nested arrays from a matrix (for tests and messages). */
export function toRows(A: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < A.rows; i++) out.push(Array.from(A.data.subarray(i * A.cols, (i + 1) * A.cols)));
  return out;
}

/** The n × n identity. */
export function identity(n: number): Matrix64 {
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = 1;
  return out;
}

export function checkMatrix(A: Matrix, name: string): void {
  if (!Number.isInteger(A.rows) || !Number.isInteger(A.cols) || A.rows < 0 || A.cols < 0 || A.data.length !== A.rows * A.cols) {
    throw usageError(`${name}: a ${A.rows} × ${A.cols} matrix needs ${A.rows * A.cols} values, its data has ${A.data.length}`);
  }
}

export const shapeOf = (A: Matrix): string => `${A.rows} × ${A.cols}`;

/** A float64 copy of A. */
export function toFloat64(A: Matrix): Matrix64 {
  checkMatrix(A, 'toFloat64');
  return { rows: A.rows, cols: A.cols, data: Float64Array.from(A.data) };
}

/**
 * s · A as a new float64 matrix. A plain loop: TypedArray.prototype.map with a closure is ~10× slower
 * in V8, which costs 0.1 s per pass on a 256 × 256 × 80 cube.
 */
export function scaled(A: Matrix, s: number): Matrix64 {
  const src = A.data;
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] * s;
  return { rows: A.rows, cols: A.cols, data: out };
}

/** Aᵀ. */
export function transpose(A: Matrix): Matrix64 {
  checkMatrix(A, 'transpose');
  const { rows, cols } = A;
  const out = zeros(cols, rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out.data[j * rows + i] = A.data[i * cols + j];
  }
  return out;
}

/** A B (A is r × s, B is s × t). */
export function matmul(A: Matrix, B: Matrix): Matrix64 {
  checkMatrix(A, 'matmul');
  checkMatrix(B, 'matmul');
  if (A.cols !== B.rows) throw usageError(`matmul: A is ${shapeOf(A)} and B is ${shapeOf(B)}; A.cols must equal B.rows`);
  const r = A.rows;
  const s = A.cols;
  const t = B.cols;
  const out = new Float64Array(r * t);
  const a = A.data;
  const b = B.data;
  for (let i = 0; i < r; i++) {
    const oi = i * t;
    for (let l = 0; l < s; l++) {
      const ail = a[i * s + l];
      if (ail === 0) continue;
      const bl = l * t;
      for (let j = 0; j < t; j++) out[oi + j] += ail * b[bl + j];
    }
  }
  return { rows: r, cols: t, data: out };
}

/** Aᵀ B (A is s × r, B is s × t), without forming Aᵀ. */
export function matmulTransA(A: Matrix, B: Matrix): Matrix64 {
  checkMatrix(A, 'matmulTransA');
  checkMatrix(B, 'matmulTransA');
  if (A.rows !== B.rows) throw usageError(`matmulTransA: A is ${shapeOf(A)} and B is ${shapeOf(B)}; A.rows must equal B.rows`);
  const s = A.rows;
  const r = A.cols;
  const t = B.cols;
  const out = new Float64Array(r * t);
  const a = A.data;
  const b = B.data;
  if (r <= THIN_A_COLUMNS) {
    thinTransATimes(a, b, s, r, t, out);
    return { rows: r, cols: t, data: out };
  }
  for (let l = 0; l < s; l++) {
    const bl = l * t;
    for (let i = 0; i < r; i++) {
      const ali = a[l * r + i];
      if (ali === 0) continue;
      const oi = i * t;
      for (let j = 0; j < t; j++) out[oi + j] += ali * b[bl + j];
    }
  }
  return { rows: r, cols: t, data: out };
}

/** matmulTransA takes the zero-skipping order below for A of at most this many columns. */
const THIN_A_COLUMNS = 8;

/**
 * out += Aᵀ B for thin A (s × r, r ≤ THIN_A_COLUMNS): each entry of B read once and skipped when
 * 0, so Dᵀ X over spectrum-image counts (75–95 % zeros; `leastSquaresMaps`, the CPU reference's
 * H step) costs r multiply–adds per nonzero. Every output still sums its terms in increasing l,
 * so the result is the dense loop's bit for bit (a skipped term would have added ±0).
 * (A function of its own so that V8 optimises it whole.)
 */
function thinTransATimes(a: ArrayLike<number>, b: ArrayLike<number>, s: number, r: number, t: number, out: Float64Array): void {
  for (let l = 0; l < s; l++) {
    const bl = l * t;
    const al = l * r;
    for (let j = 0; j < t; j++) {
      const v = b[bl + j];
      if (v === 0) continue;
      for (let i = 0; i < r; i++) out[i * t + j] += a[al + i] * v;
    }
  }
}

/** A Bᵀ (A is r × s, B is t × s), without forming Bᵀ. */
export function matmulTransB(A: Matrix, B: Matrix): Matrix64 {
  checkMatrix(A, 'matmulTransB');
  checkMatrix(B, 'matmulTransB');
  if (A.cols !== B.cols) throw usageError(`matmulTransB: A is ${shapeOf(A)} and B is ${shapeOf(B)}; A.cols must equal B.cols`);
  const r = A.rows;
  const s = A.cols;
  const t = B.rows;
  const out = new Float64Array(r * t);
  const a = A.data;
  const b = B.data;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < t; j++) {
      let acc = 0;
      for (let l = 0; l < s; l++) acc += a[i * s + l] * b[j * s + l];
      out[i * t + j] = acc;
    }
  }
  return { rows: r, cols: t, data: out };
}

/** Euclidean norm of a vector. */
export function norm2(v: ArrayLike<number>): number {
  // Scaled to avoid overflow/underflow for extreme values.
  let scale = 0;
  for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(v[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] / scale;
    s += x * x;
  }
  return scale * Math.sqrt(s);
}

// ---------------------------------------------------------------------------------------------
// Symmetric eigendecomposition (cyclic Jacobi)

export interface SymmetricEigen {
  /** Eigenvalues in descending order. */
  values: Float64Array;
  /** Eigenvectors as the columns of an n × n orthogonal matrix, in the order of `values`. */
  vectors: Matrix64;
}

/**
 * Eigendecomposition A = V diag(values) Vᵀ of a small symmetric matrix by the cyclic Jacobi method
 * (Golub & Van Loan, Alg. 8.5.3). Accurate to a few ulps of ‖A‖; O(n³) per sweep, meant for n up
 * to a few hundred. Only the upper triangle's symmetry is checked (relative 1e-10).
 */
export function symmetricEigen(A: Matrix, opts: { maxSweeps?: number } = {}): SymmetricEigen {
  checkMatrix(A, 'symmetricEigen');
  if (A.rows !== A.cols) throw usageError(`symmetricEigen: A must be square, got ${shapeOf(A)}`);
  const n = A.rows;
  const a = Float64Array.from(A.data);
  let fro = 0;
  for (let i = 0; i < n * n; i++) fro += a[i] * a[i];
  fro = Math.sqrt(fro);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-10 * fro) {
        throw usageError(`symmetricEigen: A is not symmetric: A[${i}][${j}] = ${a[i * n + j]} but A[${j}][${i}] = ${a[j * n + i]}`);
      }
      const m = 0.5 * (a[i * n + j] + a[j * n + i]);
      a[i * n + j] = m;
      a[j * n + i] = m;
    }
  }
  const v = identity(n).data;
  const maxSweeps = opts.maxSweeps ?? 100;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    if (Math.sqrt(2 * off) <= EPS64 * fro || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // Rotation that zeroes a[p][q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A ← Jᵀ A J with J the rotation in the (p, q) plane.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

// ---------------------------------------------------------------------------------------------
// Thin SVD (one-sided Jacobi)

export interface SVDResult {
  /** r × q with orthonormal columns (q = min(r, c)); columns for zero singular values are 0. */
  U: Matrix64;
  /** q singular values, descending. */
  S: Float64Array;
  /** q × c, orthonormal rows (Vᵀ). */
  Vt: Matrix64;
}

/**
 * Thin SVD A = U diag(S) Vᵀ by one-sided Jacobi (Hestenes 1958) on the columns of A (or of Aᵀ when
 * A is wide). High relative accuracy; O(r c² ) per sweep, for matrices with few columns (c ≲ 200)
 * and any number of rows. Left singular vectors of zero singular values are returned as zero
 * columns (they are never needed by the callers: lstsq drops them).
 */
export function svd(A: Matrix, opts: { maxSweeps?: number } = {}): SVDResult {
  checkMatrix(A, 'svd');
  if (A.rows < A.cols) {
    const t = svd(transpose(A), opts);
    return { U: transpose(t.Vt), S: t.S, Vt: transpose(t.U) };
  }
  const m = A.rows;
  const n = A.cols;
  // Columns of A stored contiguously: col[j] = A[:, j].
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = A.data[i * n + j];
    cols.push(c);
  }
  const vcols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const c = new Float64Array(n);
    c[j] = 1;
    vcols.push(c);
  }
  const maxSweeps = opts.maxSweeps ?? 60;
  const tol = EPS64 * m;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const cp = cols[p];
        const cq = cols[q];
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += cp[i] * cp[i];
          beta += cq[i] * cq[i];
          gamma += cp[i] * cq[i];
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = cp[i];
          const y = cq[i];
          cp[i] = c * x - s * y;
          cq[i] = s * x + c * y;
        }
        const vp = vcols[p];
        const vq = vcols[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sv = cols.map((c) => norm2(c));
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => sv[j] - sv[i]);
  const U = zeros(m, n);
  const S = new Float64Array(n);
  const Vt = zeros(n, n);
  const smax = sv[order[0]] ?? 0;
  order.forEach((src, dst) => {
    const s = sv[src];
    S[dst] = s;
    // A column whose norm is at rounding level of the largest is numerically zero.
    const keep = s > 0 && s > smax * EPS64;
    for (let i = 0; i < m; i++) U.data[i * n + dst] = keep ? cols[src][i] / s : 0;
    for (let i = 0; i < n; i++) Vt.data[dst * n + i] = vcols[src][i];
  });
  return { U, S, Vt };
}

// ---------------------------------------------------------------------------------------------
// Least squares

/**
 * Minimum-norm least-squares solution X of A X ≈ B (A is r × c, B is r × t, X is c × t), through
 * the SVD of A: singular values ≤ rcond · max(S) count as zero (numpy's `lstsq(rcond=None)`
 * default rcond = eps · max(r, c)). Works for tall, wide and rank-deficient A.
 */
export function lstsq(A: Matrix, B: Matrix, opts: { rcond?: number } = {}): Matrix64 {
  checkMatrix(A, 'lstsq');
  checkMatrix(B, 'lstsq');
  if (A.rows !== B.rows) throw usageError(`lstsq: A is ${shapeOf(A)} and B is ${shapeOf(B)}; they need the same number of rows`);
  const c = A.cols;
  const t = B.cols;
  if (c === 0) return zeros(0, t);
  const { U, S, Vt } = svd(A);
  const q = S.length;
  const rcond = opts.rcond ?? EPS64 * Math.max(A.rows, A.cols);
  const cutoff = rcond * (S[0] ?? 0);
  // X = V diag(1/s) Uᵀ B over the kept singular values.
  const UtB = matmulTransA(U, B); // q × t
  const out = zeros(c, t);
  for (let j = 0; j < q; j++) {
    const s = S[j];
    if (!(s > cutoff) || s === 0) continue;
    for (let col = 0; col < t; col++) {
      const coef = UtB.data[j * t + col] / s;
      if (coef === 0) continue;
      for (let i = 0; i < c; i++) out.data[i * t + col] += Vt.data[j * c + i] * coef;
    }
  }
  return out;
}

export interface NNLSResult {
  /** The solution, x ≥ 0. */
  x: Float64Array;
  /** ‖A x − b‖₂. */
  residual: number;
  /** Outer iterations (variables moved into the passive set). */
  iterations: number;
}

/**
 * min ‖A x − b‖₂ subject to x ≥ 0, by the Lawson–Hanson active-set algorithm (1974, ch. 23).
 * Exact up to rounding: on return the KKT conditions hold, w = Aᵀ(b − A x) ≤ tol on the zero
 * variables and |w| ≤ tol on the positive ones. Throws after `maxIter` outer iterations
 * (default 3·c, as scipy).
 */
export function nnls(A: Matrix, b: ArrayLike<number>, opts: { maxIter?: number; tol?: number } = {}): NNLSResult {
  checkMatrix(A, 'nnls');
  const m = A.rows;
  const n = A.cols;
  if (b.length !== m) throw usageError(`nnls: A is ${shapeOf(A)} but b has ${b.length} entries; b needs ${m}`);
  const maxIter = opts.maxIter ?? 3 * Math.max(n, 1);
  let anorm1 = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += Math.abs(A.data[i * n + j]);
    anorm1 = Math.max(anorm1, s);
  }
  let bnorm = 0;
  for (let i = 0; i < m; i++) bnorm = Math.max(bnorm, Math.abs(b[i]));
  // w = Aᵀ(b − Ax) scales with ‖A‖·‖b‖; the default threshold is relative to both (scipy's
  // 10·eps·‖A‖₁·max(m, n), made invariant to the scale of b).
  const tol = opts.tol ?? 10 * EPS64 * anorm1 * Math.max(m, n) * bnorm;

  const x = new Float64Array(n);
  const passive = new Array<boolean>(n).fill(false);
  const w = new Float64Array(n);
  const residualGradient = (): void => {
    // w = Aᵀ (b − A x)
    const res = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = b[i];
      for (let j = 0; j < n; j++) s -= A.data[i * n + j] * x[j];
      res[i] = s;
    }
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += A.data[i * n + j] * res[i];
      w[j] = s;
    }
  };
  const solvePassive = (): Float64Array => {
    const idx = passive.flatMap((p, j) => (p ? [j] : []));
    const Ap = zeros(m, idx.length);
    for (let i = 0; i < m; i++) idx.forEach((j, c) => (Ap.data[i * idx.length + c] = A.data[i * n + j]));
    const bp = { rows: m, cols: 1, data: Float64Array.from({ length: m }, (_, i) => b[i]) };
    const sol = lstsq(Ap, bp);
    const z = new Float64Array(n);
    idx.forEach((j, c) => (z[j] = sol.data[c]));
    return z;
  };

  let iterations = 0;
  residualGradient();
  for (;;) {
    let t = -1;
    let wmax = tol;
    for (let j = 0; j < n; j++) {
      if (!passive[j] && w[j] > wmax) {
        wmax = w[j];
        t = j;
      }
    }
    if (t < 0) break;
    if (iterations >= maxIter) {
      throw new WebnmfError('runtime', `nnls: no convergence after ${maxIter} iterations (A is ${shapeOf(A)})`);
    }
    iterations++;
    passive[t] = true;
    for (;;) {
      const z = solvePassive();
      let feasible = true;
      for (let j = 0; j < n; j++) if (passive[j] && z[j] <= 0) feasible = false;
      if (feasible) {
        x.set(z);
        break;
      }
      // Step from x towards z as far as feasibility allows; the blocking variable(s) leave P.
      let alpha = Infinity;
      let blocking = -1;
      for (let j = 0; j < n; j++) {
        if (passive[j] && z[j] <= 0) {
          const ratio = x[j] / (x[j] - z[j]);
          if (ratio < alpha) {
            alpha = ratio;
            blocking = j;
          }
        }
      }
      for (let j = 0; j < n; j++) if (passive[j]) x[j] += alpha * (z[j] - x[j]);
      x[blocking] = 0;
      passive[blocking] = false;
      for (let j = 0; j < n; j++) {
        if (passive[j] && x[j] <= 0) {
          x[j] = 0;
          passive[j] = false;
        }
      }
      if (!passive.some((p) => p)) break;
    }
    residualGradient();
  }
  for (let j = 0; j < n; j++) if (!passive[j]) x[j] = 0;
  const res = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = -b[i];
    for (let j = 0; j < n; j++) s += A.data[i * n + j] * x[j];
    res[i] = s;
  }
  return { x, residual: norm2(res), iterations };
}
