import { EPSILON, ESPM_DICHOTOMY_MAXIT, ESPM_DICHOTOMY_TOL } from '../types.js';
import { WebnmfError } from '../errors.js';

/**
 * The simplex multiplier of a multiplicative update: for every column j of the rows × cols
 * matrices num and den (row-major), find ν_j with
 *   f_j(ν) = Σ_i max(num_ij / (den_ij + ν), ε) − 1 = 0.
 * f_j decreases on ESPM's bracket [a_j, b_j]:
 *   a_j = max over {i: num_ij > 0} of (num_ij / 2 − den_ij)   (f > 0 there)
 *   b_j = 2 · rows · max_i num_ij − min_i den_ij               (f < 0 there)
 */

function checkSolvable(rows: number): void {
  if (rows * EPSILON >= 1) {
    throw new WebnmfError('input', `simplex constraint has no solution: ${rows} entries each ≥ ε = ${EPSILON} cannot sum to 1`);
  }
}

/** ESPM's bracket for column j. */
function bracket(num: Float64Array, den: Float64Array, rows: number, cols: number, j: number): [number, number] {
  let a = -Infinity;
  let maxNum = -Infinity;
  let minDen = Infinity;
  for (let i = 0; i < rows; i++) {
    const nv = num[i * cols + j];
    const dv = den[i * cols + j];
    if (nv > 0) a = Math.max(a, nv / 2 - dv);
    maxNum = Math.max(maxNum, nv);
    minDen = Math.min(minDen, dv);
  }
  const b = (rows * maxNum) / 0.5 - minDen;
  return [a, b];
}

function f(num: Float64Array, den: Float64Array, rows: number, cols: number, j: number, nu: number): number {
  let s = 0;
  for (let i = 0; i < rows; i++) {
    s += Math.max(num[i * cols + j] / (nu + den[i * cols + j]), EPSILON);
  }
  return s - 1;
}

/**
 * ESPM's lock-step bisection (espm.estimators.dicotomy): all columns bisect together until
 * max_j |f_j(mid)| ≤ 1e-5 (at most 100 rounds) and the midpoints are returned. Kept for
 * bit-level conformance with ESPM; `simplexExact` is the better solver.
 */
export function simplexEspm(num: Float64Array, den: Float64Array, rows: number, cols: number): Float64Array {
  checkSolvable(rows);
  const a = new Float64Array(cols);
  const b = new Float64Array(cols);
  for (let j = 0; j < cols; j++) [a[j], b[j]] = bracket(num, den, rows, cols, j);
  const mid = new Float64Array(cols);
  const fMid = new Float64Array(cols);
  let worst = 0;
  for (let j = 0; j < cols; j++) {
    mid[j] = (a[j] + b[j]) / 2;
    fMid[j] = f(num, den, rows, cols, j, mid[j]);
    worst = Math.max(worst, Math.abs(fMid[j]));
  }
  let it = 0;
  // NaN compares false, exactly like numpy's `while max(abs(f)) > tol`.
  while (worst > ESPM_DICHOTOMY_TOL) {
    it++;
    worst = 0;
    for (let j = 0; j < cols; j++) {
      const fa = f(num, den, rows, cols, j, a[j]);
      if (fa * fMid[j] <= 0) b[j] = mid[j];
      else a[j] = mid[j];
      mid[j] = (a[j] + b[j]) / 2;
      fMid[j] = f(num, den, rows, cols, j, mid[j]);
      worst = Math.max(worst, Math.abs(fMid[j])); // Math.max propagates NaN, like numpy
    }
    if (it >= ESPM_DICHOTOMY_MAXIT) break;
  }
  return mid;
}

/**
 * Exact per-column solve: Newton's method on f, safeguarded by bisection inside ESPM's bracket,
 * until |f_j(ν)| ≤ tol or the bracket cannot shrink further. Every column converges on its own.
 */
export function simplexExact(
  num: Float64Array,
  den: Float64Array,
  rows: number,
  cols: number,
  tol = 1e-10,
): Float64Array {
  checkSolvable(rows);
  return newtonColumns(rows, cols, tol, (j) => bracket(num, den, rows, cols, j), (t, nu) => {
    const beta = nu + den[t];
    return { h: num[t] / beta, s: beta };
  });
}

/**
 * Per column j: the root of f_j(ν) = Σ_i max(h_ij(ν), ε) − 1 for entries h_ij(ν) that decrease in
 * ν (entry(t, ν) returns h and s with dh/dν = −h/s), by Newton's method safeguarded by bisection
 * inside the column's bracket [lo, hi] (f > 0 at lo, f < 0 at hi; lo = −∞ means every entry is 0
 * and ν = 0 is returned), to |f_j| ≤ tol or until the bracket cannot shrink further.
 */
function newtonColumns(
  rows: number,
  cols: number,
  tol: number,
  bracketOf: (j: number) => [number, number],
  entry: (t: number, nu: number) => { h: number; s: number },
): Float64Array {
  const nu = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let [lo, hi] = bracketOf(j);
    if (lo === -Infinity) continue; // all numerators 0: every entry is ε whatever ν is
    let x = (lo + hi) / 2;
    for (let it = 0; it < 200; it++) {
      let s = 0;
      let ds = 0;
      for (let i = 0; i < rows; i++) {
        const e = entry(i * cols + j, x);
        if (e.h > EPSILON) {
          s += e.h;
          ds -= e.h / e.s;
        } else {
          s += EPSILON;
        }
      }
      const fx = s - 1;
      if (Math.abs(fx) <= tol) break;
      if (fx > 0) lo = x;
      else hi = x;
      let next = ds < 0 ? x - fx / ds : NaN;
      if (!(next > lo && next < hi)) next = (lo + hi) / 2;
      if (next === x || hi - lo <= Math.abs(x) * 1e-16) break;
      x = next;
    }
    nu[j] = x;
  }
  return nu;
}

/**
 * The entry of the tight H step (see `hStepTight`) at multiplier ν: the positive root h of
 *   q h² + (b + ν) h − a = 0,
 * i.e. the minimiser of (b + ν) h + (q/2) h² − a log h. Written without cancellation; q = 0 gives
 * the plain ratio a / (b + ν). Returns the root and s = √((b+ν)² + 4qa) (dh/dν = −h/s).
 */
export function quadraticRoot(a: number, b: number, q: number, nu: number): { h: number; s: number } {
  const beta = b + nu;
  if (q === 0) return { h: a / beta, s: beta };
  const s = Math.sqrt(beta * beta + 4 * q * a);
  return { h: beta >= 0 ? (2 * a) / (beta + s) : (s - beta) / (2 * q), s };
}

/**
 * The simplex multiplier of the tight H step: for every column j find ν_j with
 *   f_j(ν) = Σ_i max(h_ij(ν), ε) − 1 = 0,   h_ij(ν) = quadraticRoot(a_ij, b_ij, q_ij, ν).
 * Each h_ij decreases in ν, so f_j does. Bracket (like ESPM's, with a factor 2 of slack):
 *   lo = max over {i: a_ij > 0} of (a_ij/2 − 2 q_ij − b_ij)       (that entry is 2 there: f > 0)
 *   hi = max over i of (2·rows·a_ij − q_ij/(2·rows) − b_ij)        (every entry ≤ 1/(2·rows): f < 0)
 * then the same safeguarded Newton as `simplexExact`, to |f_j| ≤ tol.
 */
export function simplexQuadratic(
  a: Float64Array,
  b: Float64Array,
  q: Float64Array,
  rows: number,
  cols: number,
  tol = 1e-10,
): Float64Array {
  checkSolvable(rows);
  const bracketOf = (j: number): [number, number] => {
    let lo = -Infinity;
    let hi = -Infinity;
    for (let i = 0; i < rows; i++) {
      const t = i * cols + j;
      if (a[t] > 0) lo = Math.max(lo, a[t] / 2 - 2 * q[t] - b[t]);
      hi = Math.max(hi, 2 * rows * a[t] - q[t] / (2 * rows) - b[t]);
    }
    return [lo, hi];
  };
  return newtonColumns(rows, cols, tol, bracketOf, (t, nu) => quadraticRoot(a[t], b[t], q[t], nu));
}
