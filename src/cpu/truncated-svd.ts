/**
 * The k leading singular triplets of a spectrum image (the nndsvd initialisation, randomized PCA):
 * X stored once from its short side, then the exact Gram route or power iterations (through the
 * formed Gram matrix or through X), chosen by a measured cost model, with an adaptive stop on the
 * Ritz values. Split from linalg.ts, whose small dense routines it uses.
 */
import { WebnmfError, usageError } from '../errors.js';
import { Random } from '../random.js';
import type { Matrix, Matrix64 } from '../types.js';
import { EPS64, checkMatrix, matmul, matmulTransA, shapeOf, zeros, type SVDResult } from './linalg.js';

/**
 * Orthonormalise the columns of a row-major r × l matrix in place: classical Gram–Schmidt applied
 * twice per column ("twice is enough", Giraud et al. 2005), with the dot products and updates of a
 * column against all earlier ones done in one row-major sweep. Columns that lose all but rounding
 * noise are set to zero (a rank-deficient block keeps exact zeros there). The blocks here live on
 * the short side of X (at most min(r, c) × l), so this costs little next to the products with X;
 * a Cholesky-QR (Fukaya et al. 2014) would only pay for tall blocks.
 */
function orthonormalizeColumns(Y: Matrix64): void {
  const { rows: r, cols: l, data } = Y;
  const dots = new Float64Array(l);
  for (let j = 0; j < l; j++) {
    let before = 0;
    for (let i = 0; i < r; i++) before += data[i * l + j] * data[i * l + j];
    for (let pass = 0; pass < 2 && j > 0; pass++) {
      dots.fill(0, 0, j);
      for (let i = 0; i < r; i++) {
        const o = i * l;
        const y = data[o + j];
        if (y !== 0) for (let q = 0; q < j; q++) dots[q] += data[o + q] * y;
      }
      for (let i = 0; i < r; i++) {
        const o = i * l;
        let y = data[o + j];
        for (let q = 0; q < j; q++) y -= dots[q] * data[o + q];
        data[o + j] = y;
      }
    }
    let nrm2 = 0;
    for (let i = 0; i < r; i++) nrm2 += data[i * l + j] * data[i * l + j];
    const nrm = Math.sqrt(nrm2);
    // A column that lost all but rounding noise spans nothing new: leave it zero.
    const ok = nrm > 0 && nrm > 1e-12 * Math.sqrt(before);
    for (let i = 0; i < r; i++) data[i * l + j] = ok ? data[i * l + j] / nrm : 0;
  }
}

/** √(a² + b²) without overflow or underflow (cheaper than Math.hypot in V8). */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const q = y / x;
    return x * Math.sqrt(1 + q * q);
  }
  if (y === 0) return 0;
  const q = x / y;
  return y * Math.sqrt(1 + q * q);
}

/**
 * Eigendecomposition of a dense symmetric n × n matrix (row-major, only read) by Householder
 * tridiagonalisation and the implicit QL algorithm with Wilkinson shifts: EISPACK's tred2 and tql2
 * (Wilkinson & Reinsch 1971, Handbook for Automatic Computation II; transcribed as in JAMA).
 * Backward stable like the cyclic Jacobi of `symmetricEigen`, at about a tenth of its work with
 * the vectors (~8 ns·n³ in Node 20: 0.8 s at n = 470), so the Gram route and the Rayleigh–Ritz
 * steps below use it.
 * Returns the eigenvalues descending and the eigenvectors as the ROWS of `rows` in that order.
 */
function tridiagonalEigen(A: Float64Array, n: number): { values: Float64Array; rows: Float64Array } {
  const V = Float64Array.from(A.subarray(0, n * n)); // V[i][j] = V[i * n + j]
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, rows: V };
  // tred2: Householder reduction to tridiagonal form, accumulating the transformations in V.
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
  // tql2 works on the columns of V; hold them as rows (W = Vᵀ) so that each plane rotation
  // touches two contiguous rows.
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[j * n + i] = V[i * n + j];
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPS64 * tst1) m++;
    if (m > l) {
      for (let iter = 0; ; iter++) {
        if (iter >= 60) throw new WebnmfError('runtime', `tridiagonalEigen: QL iteration did not converge (n = ${n})`);
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const oi = i * n;
          const oj = oi + n;
          for (let k = 0; k < n; k++) {
            const wk = W[oj + k];
            W[oj + k] = s * W[oi + k] + c * wk;
            W[oi + k] = c * W[oi + k] - s * wk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > EPS64 * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
  // Descending order (stable for ties).
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i] || i - j);
  const values = new Float64Array(n);
  const rows = new Float64Array(n * n);
  for (let dst = 0; dst < n; dst++) {
    const src = order[dst];
    values[dst] = d[src];
    rows.set(W.subarray(src * n, src * n + n), dst * n);
  }
  return { values, rows };
}

/**
 * X seen from its short side: A = X (r ≤ c) or A = Xᵀ (r > c), an m × M matrix whose m rows are
 * short-side indices (`ids`: on the sparse route only those not identically zero, so that a
 * spectrum image's empty channels drop out) and whose M columns are the long side (pixels).
 * Where at least half of X is zero (EDX
 * counts: 75–95 %), A is stored as the entries of each long-side index (each with its compact
 * short-side index, ascending), so that every product costs work per nonzero and the short
 * side's thin matrix stays in cache; rows of X holding one value throughout (ESPM's ε fill of
 * empty channels) are kept out of the entries as a rank-one term: A = S + a bᵀ (wide X: a = the
 * fill values, b = 1; tall X: a = 1, b = the fill values). Else A is X itself, used through the
 * dense products.
 */
interface ShortSide {
  X: Matrix;
  wide: boolean;
  /** Short-side length of X, long-side length. */
  n: number;
  M: number;
  /**
   * Active short-side indices (`ids`, m of them): first the ms that have entries, ascending, then
   * those only the rank-one term reaches. The sparse part S Sᵀ of the Gram matrix fills its
   * leading ms × ms block.
   */
  m: number;
  ms: number;
  ids: Int32Array;
  /** Entries of S per long-side index (null: dense route through X). */
  start: Int32Array | null;
  idx: Int32Array | null;
  val: Float64Array | null;
  /** The rank-one part (null when X has no constant rows), S b and bᵀ b. */
  a: Float64Array | null;
  b: Float64Array | null;
  sb: Float64Array | null;
  bb: number;
  /** Stored entries (or r·c for the dense route) and the Gram matrix's multiply–adds. */
  nnz: number;
  pairs: number;
}

function shortSideOf(X: Matrix): ShortSide {
  const r = X.rows;
  const c = X.cols;
  const x = X.data;
  const wide = r <= c;
  const n = wide ? r : c;
  const M = wide ? c : r;
  const fill = new Float64Array(r); // the value of a constant nonzero row of X, else 0
  let nFill = 0;
  for (let i = 0; i < r; i++) {
    const o = i * c;
    const v0 = x[o];
    if (v0 === 0) continue;
    let j = 1;
    while (j < c && x[o + j] === v0) j++;
    if (j === c) {
      fill[i] = v0;
      nFill++;
    }
  }
  // Entries per long-side index (wide: per column of X; tall: per row) and active short indices.
  const start = new Int32Array(M + 1);
  const active = new Uint8Array(n);
  let nnz = 0;
  for (let i = 0; i < r; i++) {
    if (fill[i] !== 0) continue;
    const o = i * c;
    let z = 0;
    if (wide) {
      for (let j = 0; j < c; j++) {
        if (x[o + j] !== 0) {
          start[j + 1]++;
          z++;
        }
      }
      if (z > 0) active[i] = 1;
    } else {
      for (let j = 0; j < c; j++) {
        if (x[o + j] !== 0) {
          active[j] = 1;
          z++;
        }
      }
      start[i + 1] = z;
    }
    nnz += z;
  }
  if (2 * nnz > r * c) {
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = i;
    const pairs = (n * (n + 1) * M) / 2;
    return { X, wide, n, M, m: n, ms: n, ids, start: null, idx: null, val: null, a: null, b: null, sb: null, bb: 0, nnz: r * c, pairs };
  }
  // Short-side indices with entries first (ms of them), then those only the rank-one term
  // reaches (2: wide X's constant rows; every other column of a tall X with a constant row).
  for (let i = 0; i < n; i++) if (active[i] === 0 && nFill > 0 && (!wide || fill[i] !== 0)) active[i] = 2;
  const cid = new Int32Array(n).fill(-1);
  let m = 0;
  for (let i = 0; i < n; i++) if (active[i] === 1) cid[i] = m++;
  const ms = m;
  for (let i = 0; i < n; i++) if (active[i] === 2) cid[i] = m++;
  const ids = new Int32Array(m);
  for (let i = 0; i < n; i++) if (cid[i] >= 0) ids[cid[i]] = i;
  for (let j = 0; j < M; j++) start[j + 1] += start[j];
  const idx = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  if (wide) {
    // Sixteen rows of X at a time, column by column: each column's entries from those rows land
    // next to each other, where one row at a time scatters every entry to a different place
    // (20 % faster at 80 × 65 536).
    const rowsWithEntries = new Int32Array(ms);
    for (let i = 0; i < r; i++) if (active[i] === 1) rowsWithEntries[cid[i]] = i;
    const cursor = start.slice(0, M);
    for (let b0 = 0; b0 < ms; b0 += 16) {
      const b1 = Math.min(ms, b0 + 16);
      for (let j = 0; j < c; j++) {
        let e = cursor[j];
        for (let b = b0; b < b1; b++) {
          const v = x[rowsWithEntries[b] * c + j];
          if (v === 0) continue;
          idx[e] = b; // the compact id: rows with entries come first, in order
          val[e++] = v;
        }
        cursor[j] = e;
      }
    }
  } else {
    for (let i = 0; i < r; i++) {
      if (fill[i] !== 0) continue;
      const o = i * c;
      let e = start[i];
      for (let j = 0; j < c; j++) {
        const v = x[o + j];
        if (v === 0) continue;
        idx[e] = cid[j];
        val[e++] = v;
      }
    }
  }
  let pairs = 0;
  for (let j = 0; j < M; j++) {
    const z = start[j + 1] - start[j];
    pairs += (z * (z + 1)) / 2;
  }
  let a: Float64Array | null = null;
  let b: Float64Array | null = null;
  let sb: Float64Array | null = null;
  let bb = 0;
  if (nFill > 0) {
    a = new Float64Array(m);
    b = new Float64Array(M);
    if (wide) {
      for (let i = 0; i < r; i++) if (fill[i] !== 0) a[cid[i]] = fill[i];
      b.fill(1);
    } else {
      a.fill(1);
      b.set(fill);
    }
    for (let j = 0; j < M; j++) bb += b[j] * b[j];
    sb = new Float64Array(m);
    for (let j = 0; j < M; j++) {
      const bj = b[j];
      if (bj !== 0) for (let e = start[j]; e < start[j + 1]; e++) sb[idx[e]] += val[e] * bj;
    }
  }
  return { X, wide, n, M, m, ms, ids, start, idx, val, a, b, sb, bb, nnz, pairs };
}

/*
 * The sparse kernels below take the t columns of the thin matrix in chunks of 8 (then 4, then 1)
 * held in local variables: V8 keeps those in registers, where an inner loop over t columns
 * through a typed array costs 2–3× more per multiply–add (measured in Node 20 on 1024 × 16 384
 * EDX counts). They are plain functions of typed arrays so that they stay monomorphic.
 */

/** out (M × t) = Sᵀ Q for Q (m × t): out[j, :] = Σ over the entries (i, v) of j of v · Q[i, :]. */
function gatherRows(start: Int32Array, idx: Int32Array, val: Float64Array, M: number, q: Float64Array, t: number, out: Float64Array): void {
  let u0 = 0;
  for (; u0 + 8 <= t; u0 += 8) {
    for (let j = 0; j < M; j++) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let a4 = 0;
      let a5 = 0;
      let a6 = 0;
      let a7 = 0;
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) {
        const v = val[e];
        const s = idx[e] * t + u0;
        a0 += v * q[s];
        a1 += v * q[s + 1];
        a2 += v * q[s + 2];
        a3 += v * q[s + 3];
        a4 += v * q[s + 4];
        a5 += v * q[s + 5];
        a6 += v * q[s + 6];
        a7 += v * q[s + 7];
      }
      const o = j * t + u0;
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
      out[o + 4] = a4;
      out[o + 5] = a5;
      out[o + 6] = a6;
      out[o + 7] = a7;
    }
  }
  for (; u0 + 4 <= t; u0 += 4) {
    for (let j = 0; j < M; j++) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) {
        const v = val[e];
        const s = idx[e] * t + u0;
        a0 += v * q[s];
        a1 += v * q[s + 1];
        a2 += v * q[s + 2];
        a3 += v * q[s + 3];
      }
      const o = j * t + u0;
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
    }
  }
  for (; u0 < t; u0++) {
    for (let j = 0; j < M; j++) {
      let a0 = 0;
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) a0 += val[e] * q[idx[e] * t + u0];
      out[j * t + u0] = a0;
    }
  }
}

/** out (m × t) += S Z for Z (M × t): out[i, :] += v · Z[j, :] for every entry (i, v) of j. */
function scatterRows(start: Int32Array, idx: Int32Array, val: Float64Array, M: number, z: Float64Array, t: number, out: Float64Array): void {
  let u0 = 0;
  for (; u0 + 8 <= t; u0 += 8) {
    for (let j = 0; j < M; j++) {
      const o = j * t + u0;
      const b0 = z[o];
      const b1 = z[o + 1];
      const b2 = z[o + 2];
      const b3 = z[o + 3];
      const b4 = z[o + 4];
      const b5 = z[o + 5];
      const b6 = z[o + 6];
      const b7 = z[o + 7];
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) {
        const v = val[e];
        const s = idx[e] * t + u0;
        out[s] += v * b0;
        out[s + 1] += v * b1;
        out[s + 2] += v * b2;
        out[s + 3] += v * b3;
        out[s + 4] += v * b4;
        out[s + 5] += v * b5;
        out[s + 6] += v * b6;
        out[s + 7] += v * b7;
      }
    }
  }
  for (; u0 + 4 <= t; u0 += 4) {
    for (let j = 0; j < M; j++) {
      const o = j * t + u0;
      const b0 = z[o];
      const b1 = z[o + 1];
      const b2 = z[o + 2];
      const b3 = z[o + 3];
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) {
        const v = val[e];
        const s = idx[e] * t + u0;
        out[s] += v * b0;
        out[s + 1] += v * b1;
        out[s + 2] += v * b2;
        out[s + 3] += v * b3;
      }
    }
  }
  for (; u0 < t; u0++) {
    for (let j = 0; j < M; j++) {
      const b0 = z[j * t + u0];
      const e1 = start[j + 1];
      for (let e = start[j]; e < e1; e++) out[idx[e] * t + u0] += val[e] * b0;
    }
  }
}

/**
 * The upper triangle of S Sᵀ (m × m, row-major) += Σ over long-side indices of the outer products
 * of their entries. Four entries at a time: each later entry's index and value are loaded once
 * for four rows of the result (2.5 ns per multiply–add instead of 9 one row at a time).
 */
function sparseGram(start: Int32Array, idx: Int32Array, val: Float64Array, M: number, m: number, G: Float64Array): void {
  for (let j = 0; j < M; j++) {
    const e1 = start[j + 1];
    let p = start[j];
    for (; p + 3 < e1; p += 4) {
      const v0 = val[p];
      const v1 = val[p + 1];
      const v2 = val[p + 2];
      const v3 = val[p + 3];
      const o0 = idx[p] * m;
      const o1 = idx[p + 1] * m;
      const o2 = idx[p + 2] * m;
      const o3 = idx[p + 3] * m;
      const i1 = idx[p + 1];
      const i2 = idx[p + 2];
      const i3 = idx[p + 3];
      G[o0 + idx[p]] += v0 * v0;
      G[o0 + i1] += v0 * v1;
      G[o0 + i2] += v0 * v2;
      G[o0 + i3] += v0 * v3;
      G[o1 + i1] += v1 * v1;
      G[o1 + i2] += v1 * v2;
      G[o1 + i3] += v1 * v3;
      G[o2 + i2] += v2 * v2;
      G[o2 + i3] += v2 * v3;
      G[o3 + i3] += v3 * v3;
      for (let q = p + 4; q < e1; q++) {
        const iq = idx[q];
        const vq = val[q];
        G[o0 + iq] += v0 * vq;
        G[o1 + iq] += v1 * vq;
        G[o2 + iq] += v2 * vq;
        G[o3 + iq] += v3 * vq;
      }
    }
    for (; p < e1; p++) {
      const vp = val[p];
      const o = idx[p] * m;
      for (let q = p; q < e1; q++) G[o + idx[q]] += vp * val[q];
    }
  }
}

/**
 * `product(In4, t4, out)` on In (rowsIn × t) widened to a multiple of 4 columns (zeros after In's),
 * narrowed back to rowsOut × t: one pass over X's entries per 4 columns costs less than one per column.
 */
function inFours(In: Float64Array, rowsIn: number, rowsOut: number, t: number, product: (In4: Float64Array, t4: number, out: Float64Array) => void): Float64Array {
  if (t % 4 === 0) {
    const out = new Float64Array(rowsOut * t);
    product(In, t, out);
    return out;
  }
  const t4 = t + 4 - (t % 4);
  const In4 = new Float64Array(rowsIn * t4);
  for (let i = 0; i < rowsIn; i++) for (let u = 0; u < t; u++) In4[i * t4 + u] = In[i * t + u];
  const out4 = new Float64Array(rowsOut * t4);
  product(In4, t4, out4);
  const out = new Float64Array(rowsOut * t);
  for (let i = 0; i < rowsOut; i++) for (let u = 0; u < t; u++) out[i * t + u] = out4[i * t4 + u];
  return out;
}

/** out (rowsOut × t) += u (vᵀ In): X's rank-one part (the ε-filled rows) applied from either side. */
function addRankOne(out: Float64Array, u: Float64Array, rowsOut: number, v: Float64Array, In: Float64Array, rowsIn: number, t: number): void {
  const vIn = new Float64Array(t);
  for (let i = 0; i < rowsIn; i++) if (v[i] !== 0) for (let c = 0; c < t; c++) vIn[c] += v[i] * In[i * t + c];
  for (let j = 0; j < rowsOut; j++) if (u[j] !== 0) for (let c = 0; c < t; c++) out[j * t + c] += u[j] * vIn[c];
}

/** Aᵀ Q (M × t) for Q (m × t) on the active short-side indices. */
function longTimes(s: ShortSide, Q: Float64Array, t: number): Float64Array {
  const { M, m } = s;
  if (s.start === null) {
    // dense: Q lives on all n = m short-side indices
    const B = { rows: m, cols: t, data: Q };
    return s.wide ? matmulTransA(s.X, B).data : matmul(s.X, B).data;
  }
  const out = inFours(Q, m, M, t, (Q4, t4, o) => gatherRows(s.start!, s.idx!, s.val!, M, Q4, t4, o));
  if (s.a !== null) addRankOne(out, s.b!, M, s.a, Q, m, t); // b (aᵀ Q)
  return out;
}

/** A Z (m × t) for Z (M × t). */
function shortTimes(s: ShortSide, Z: Float64Array, t: number): Float64Array {
  const { M, m } = s;
  if (s.start === null) {
    const B = { rows: M, cols: t, data: Z };
    return s.wide ? matmul(s.X, B).data : matmulTransA(s.X, B).data;
  }
  const out = inFours(Z, M, m, t, (Z4, t4, o) => scatterRows(s.start!, s.idx!, s.val!, M, Z4, t4, o));
  if (s.a !== null) addRankOne(out, s.a, m, s.b!, Z, M, t); // a (bᵀ Z)
  return out;
}

/**
 * S Sᵀ on the ms short-side indices that have entries (ms × ms, both triangles filled); for the
 * dense route, X Xᵀ or Xᵀ X. The rank-one part is added by `fullGram` or `gramTimes`.
 */
function sparsePartGram(s: ShortSide): Float64Array {
  const { ms: m, M } = s;
  const G = new Float64Array(m * m);
  if (s.start !== null) {
    sparseGram(s.start, s.idx!, s.val!, M, m, G);
  } else {
    const x = s.X.data;
    const r = s.X.rows;
    const c = s.X.cols;
    if (s.wide) {
      // row i against four rows at a time: each x[i][t] loaded once per four products
      for (let i = 0; i < r; i++) {
        const oi = i * c;
        let j = i;
        for (; j + 3 < r; j += 4) {
          const o0 = j * c;
          let a0 = 0;
          let a1 = 0;
          let a2 = 0;
          let a3 = 0;
          for (let t = 0; t < c; t++) {
            const xi = x[oi + t];
            a0 += xi * x[o0 + t];
            a1 += xi * x[o0 + c + t];
            a2 += xi * x[o0 + 2 * c + t];
            a3 += xi * x[o0 + 3 * c + t];
          }
          G[i * m + j] = a0;
          G[i * m + j + 1] = a1;
          G[i * m + j + 2] = a2;
          G[i * m + j + 3] = a3;
        }
        for (; j < r; j++) {
          let acc = 0;
          const oj = j * c;
          for (let t = 0; t < c; t++) acc += x[oi + t] * x[oj + t];
          G[i * m + j] = acc;
        }
      }
    } else {
      for (let t = 0; t < r; t++) {
        const o = t * c;
        for (let a = 0; a < c; a++) {
          const xa = x[o + a];
          if (xa === 0) continue;
          for (let b = a; b < c; b++) G[a * m + b] += xa * x[o + b];
        }
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) G[i * m + j] = G[j * m + i];
  return G;
}

/** The m × m Gram matrix A Aᵀ = (S + a bᵀ)(S + a bᵀ)ᵀ = S Sᵀ + (S b) aᵀ + a (S b)ᵀ + (bᵀb) a aᵀ. */
function fullGram(s: ShortSide, Gs: Float64Array): Float64Array {
  const { m, ms } = s;
  if (ms === m) return Gs;
  const G = new Float64Array(m * m);
  for (let i = 0; i < ms; i++) G.set(Gs.subarray(i * ms, (i + 1) * ms), i * m);
  const a = s.a!;
  const sb = s.sb!;
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] += sb[i] * a[j] + a[i] * sb[j] + s.bb * a[i] * a[j];
  return G;
}

/** A Aᵀ Q (m × t) from S Sᵀ (ms × ms) and the rank-one part, without forming A Aᵀ. */
function gramTimes(s: ShortSide, Gs: Float64Array, Q: Float64Array, t: number): Float64Array {
  const { m, ms } = s;
  const top = denseTimes(Gs, ms, Q, t); // S Sᵀ acts on the leading ms rows of Q only
  const out = ms === m ? top : new Float64Array(m * t);
  if (ms !== m) out.set(top);
  if (s.a !== null) {
    const a = s.a;
    const sb = s.sb!;
    const aq = new Float64Array(t); // aᵀ Q
    const sq = new Float64Array(t); // (S b)ᵀ Q
    for (let i = 0; i < m; i++) {
      for (let u = 0; u < t; u++) {
        aq[u] += a[i] * Q[i * t + u];
        sq[u] += sb[i] * Q[i * t + u];
      }
    }
    for (let i = 0; i < m; i++) {
      for (let u = 0; u < t; u++) out[i * t + u] += sb[i] * aq[u] + a[i] * (sq[u] + s.bb * aq[u]);
    }
  }
  return out;
}

/** G Q for a dense m × m G and Q (m × t), 8 then 4 then 1 columns at a time as above. */
function denseTimes(G: Float64Array, m: number, Q: Float64Array, t: number): Float64Array {
  const out = new Float64Array(m * t);
  let u0 = 0;
  for (; u0 + 8 <= t; u0 += 8) {
    for (let i = 0; i < m; i++) {
      const gi = i * m;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let a4 = 0;
      let a5 = 0;
      let a6 = 0;
      let a7 = 0;
      for (let j = 0; j < m; j++) {
        const g = G[gi + j];
        const q = j * t + u0;
        a0 += g * Q[q];
        a1 += g * Q[q + 1];
        a2 += g * Q[q + 2];
        a3 += g * Q[q + 3];
        a4 += g * Q[q + 4];
        a5 += g * Q[q + 5];
        a6 += g * Q[q + 6];
        a7 += g * Q[q + 7];
      }
      const o = i * t + u0;
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
      out[o + 4] = a4;
      out[o + 5] = a5;
      out[o + 6] = a6;
      out[o + 7] = a7;
    }
  }
  for (; u0 + 4 <= t; u0 += 4) {
    for (let i = 0; i < m; i++) {
      const gi = i * m;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < m; j++) {
        const g = G[gi + j];
        const q = j * t + u0;
        a0 += g * Q[q];
        a1 += g * Q[q + 1];
        a2 += g * Q[q + 2];
        a3 += g * Q[q + 3];
      }
      const o = i * t + u0;
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
    }
  }
  for (; u0 < t; u0++) {
    for (let i = 0; i < m; i++) {
      const gi = i * m;
      let a0 = 0;
      for (let j = 0; j < m; j++) a0 += G[gi + j] * Q[j * t + u0];
      out[i * t + u0] = a0;
    }
  }
  return out;
}

/**
 * Yᵀ Y (t × t) of a row-major R × t block, symmetric: 4 × 4 blocks of the result accumulated in
 * locals over the rows (the block is the long side: 65 536 × 16 in one pass each).
 */
function crossProduct(Y: Float64Array, R: number, t: number): Float64Array {
  const C = new Float64Array(t * t);
  const t4 = t - (t % 4);
  for (let a = 0; a < t4; a += 4) {
    for (let b = a; b < t4; b += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      let c20 = 0;
      let c21 = 0;
      let c22 = 0;
      let c23 = 0;
      let c30 = 0;
      let c31 = 0;
      let c32 = 0;
      let c33 = 0;
      for (let i = 0; i < R; i++) {
        const o = i * t;
        const x0 = Y[o + a];
        const x1 = Y[o + a + 1];
        const x2 = Y[o + a + 2];
        const x3 = Y[o + a + 3];
        const y0 = Y[o + b];
        const y1 = Y[o + b + 1];
        const y2 = Y[o + b + 2];
        const y3 = Y[o + b + 3];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      const o = a * t + b;
      C[o] = c00;
      C[o + 1] = c01;
      C[o + 2] = c02;
      C[o + 3] = c03;
      C[o + t] = c10;
      C[o + t + 1] = c11;
      C[o + t + 2] = c12;
      C[o + t + 3] = c13;
      C[o + 2 * t] = c20;
      C[o + 2 * t + 1] = c21;
      C[o + 2 * t + 2] = c22;
      C[o + 2 * t + 3] = c23;
      C[o + 3 * t] = c30;
      C[o + 3 * t + 1] = c31;
      C[o + 3 * t + 2] = c32;
      C[o + 3 * t + 3] = c33;
    }
  }
  // the last t mod 4 columns against all
  for (let b = t4; b < t; b++) {
    for (let a = 0; a <= b; a++) {
      let acc = 0;
      for (let i = 0; i < R; i++) acc += Y[i * t + a] * Y[i * t + b];
      C[a * t + b] = acc;
    }
  }
  // upper triangle → lower (the diagonal blocks filled both ways above: mirror the upper one)
  for (let a = 0; a < t; a++) for (let b = 0; b < a; b++) C[a * t + b] = C[b * t + a];
  return C;
}

/** Qᵀ Y (t × t) for two row-major R × t blocks, symmetrised (Y = G Q with G symmetric). */
function innerSymmetric(Q: Float64Array, Y: Float64Array, R: number, t: number): Float64Array {
  const C = new Float64Array(t * t);
  for (let i = 0; i < R; i++) {
    const o = i * t;
    for (let a = 0; a < t; a++) {
      const qa = Q[o + a];
      if (qa === 0) continue;
      const ca = a * t;
      for (let b = 0; b < t; b++) C[ca + b] += qa * Y[o + b];
    }
  }
  for (let a = 0; a < t; a++) {
    for (let b = 0; b < a; b++) {
      const v = 0.5 * (C[a * t + b] + C[b * t + a]);
      C[a * t + b] = v;
      C[b * t + a] = v;
    }
  }
  return C;
}

/** P (R × k) = Y (R × t) times the first k rows of `rows` taken as columns (Y · Wₖ). */
function timesRitz(Y: Float64Array, R: number, t: number, rows: Float64Array, k: number): Float64Array {
  const out = new Float64Array(R * k);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let u = 0; u < t; u++) acc += Y[i * t + u] * rows[j * t + u];
      out[i * k + j] = acc;
    }
  }
  return out;
}

/** `truncatedSVD`'s result: the triplets, and how they were computed. */
export interface TruncatedSVDResult extends SVDResult {
  /**
   * How the triplets were computed: 'gram' exactly (also where adaptive iterations on the formed
   * Gram matrix did not converge within the cost of its eigendecomposition); 'gramIterations' /
   * 'randomized': by power iterations on A Aᵀ formed / through products with X.
   */
  route: 'gram' | 'gramIterations' | 'randomized';
  /** Power iterations run. */
  iterations: number;
}

export interface TruncatedSVDOptions {
  /** Seed of the Gaussian test matrix. Default 0. */
  seed?: number;
  /**
   * Extra columns of the sketch (sklearn's n_oversamples). Default 10, rounded up so that the
   * sketch has a multiple of 4 columns (the products run 4 and 8 columns at a time).
   */
  oversamples?: number;
  /**
   * Power iterations: exactly this many when given. Default: adaptive, at most sklearn's 'auto'
   * count (7 when k < 0.1·min(r, c), else 4) plus one; they stop once the k leading Ritz values
   * change by less than `tolerance` (relative) from one iteration to the next.
   */
  powerIterations?: number;
  /**
   * Relative change of the k leading Ritz values σⱼ² that ends the adaptive power iterations.
   * Default 1e-12: Ritz values converge about twice as fast as the vectors, and on spectrum
   * images the singular vectors are then within ~1e-7 (angle) of the exact ones.
   */
  tolerance?: number;
  /**
   * 'gram': exact, from the eigendecomposition of the smaller Gram matrix (X Xᵀ or Xᵀ X);
   * 'randomized': the range finder below; 'auto' (default): whichever costs less by the cost
   * model below — the exact Gram route when the short side is small (channels of a spectrum image:
   * tens to a few hundred), else the power iterations on that Gram matrix or on X.
   */
  method?: 'auto' | 'gram' | 'randomized';
}

/*
 * Cost model of the routes in nanoseconds of Node 20 on one core (measured on EDX counts of
 * 80–1024 channels × 1 k–65 k pixels; only the ratios matter): a multiply–add of the sparse
 * products with X (per stored entry and column of the thin block), of the sparse Gram matrix (per
 * pair of entries of a pixel: scattered into an m × m matrix, hence dearer), of the dense loops,
 * and of the tridiagonal eigensolver per n³. Compressing X costs the same for all routes.
 */
const NS_SPARSE = 1.4;
const NS_PAIR = 2.3;
const NS_DENSE = 1.2;
const NS_EIGEN = 8;
/** Power iterations the adaptive stop typically takes on spectrum images (for the cost model). */
const EXPECTED_ITERATIONS = 5;

interface RouteCosts {
  gram: number;
  gramIterations: number;
  randomized: number;
}

function routeCosts(s: ShortSide, k: number, t: number, iterations: number): RouteCosts {
  const { m, M, nnz, pairs } = s;
  const sparse = s.start !== null;
  const t4 = 4 * Math.ceil(t / 4);
  const product = nnz * t4 * (sparse ? NS_SPARSE : 2 * NS_DENSE); // one of Aᵀ Q, A Z
  const form = pairs * (sparse ? NS_PAIR : NS_DENSE);
  const last = nnz * 4 * (sparse ? NS_SPARSE : 2 * NS_DENSE); // Aᵀ Uₖ, k ≤ 4 columns
  const small = (4 * m * t * t + NS_EIGEN * t * t * t) * NS_DENSE; // orthonormalisation, Rayleigh–Ritz
  return {
    gram: form + NS_EIGEN * m * m * m + last,
    gramIterations: form + (iterations + 1) * (s.ms * s.ms * t * NS_DENSE + small) + last,
    randomized: (2 * iterations + 1) * product + (iterations + 1) * (((M * t * t) / 2) * NS_DENSE + small),
  };
}

/**
 * The k leading singular triplets of X (r × c), through the short side's Gram operator
 * A Aᵀ (A = X or Xᵀ, `ShortSide`; its empty rows dropped). Three routes:
 *
 * - 'gram' (exact): the Gram matrix A Aᵀ formed (per pair of nonzeros of a pixel), its full
 *   eigendecomposition (`tridiagonalEigen`), and the long-side vectors as Aᵀ uⱼ / σⱼ.
 * - power iterations (Halko, Martinsson & Tropp 2011, Alg. 4.3–4.4, subspace iteration with a
 *   re-orthonormalisation after each A Aᵀ product) on an l-column block Q of the short side,
 *   with the products through X per nonzero ('randomized'), or — when A Aᵀ is small and cheap to
 *   form — with the dense Gram matrix (chosen by 'auto' only). Normalising only after A Aᵀ
 *   rather than after each of its two factors (as sklearn's 'LU'/'none' normalisers also allow)
 *   squares the spread of the block's columns, harmless for the leading triplets asked for here
 *   (σ_k ≫ 1e-8·σ₁), as on the Gram route. Every iteration ends with Rayleigh–Ritz:
 *   Z = Aᵀ Q is the small projected matrix Bᵀ = (Qᵀ A)ᵀ, and the eigenvalues of Zᵀ Z (l × l) are
 *   the Ritz values σⱼ². Without `powerIterations` the iterations stop once the k leading ones
 *   change by less than `tolerance`, and the last Z gives the result without another product.
 *
 * The block starts Gaussian: on the 'randomized' route with `powerIterations` given, Q = orth(A Ω)
 * with Ω Gaussian on the long side (sklearn's range finder, so that the count means what it means
 * there); else Q = orth(Ω) with Ω on the short side (no product, and far fewer random numbers).
 * Signs follow sklearn's `svd_flip`: in every column of U the entry of largest magnitude is
 * positive (ties: the first). Returns U (r × k), S (k, descending) and Vt (k × c).
 */
export function truncatedSVD(X: Matrix, k: number, opts: TruncatedSVDOptions = {}): TruncatedSVDResult {
  checkMatrix(X, 'truncatedSVD');
  const r = X.rows;
  const c = X.cols;
  const n = Math.min(r, c);
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw usageError(`truncatedSVD: k must be an integer in [1, min(rows, cols) = ${n}] for a ${shapeOf(X)} matrix, got ${k}`);
  }
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'gram' && method !== 'randomized') throw usageError(`truncatedSVD: method must be 'auto', 'gram' or 'randomized', got ${JSON.stringify(method)}`);
  const tolerance = opts.tolerance ?? 1e-12;
  if (!(tolerance >= 0)) throw usageError(`truncatedSVD: tolerance must be ≥ 0, got ${tolerance}`);
  const l = Math.min(opts.oversamples === undefined ? 4 * Math.ceil((k + 10) / 4) : k + opts.oversamples, n);
  const adaptive = opts.powerIterations === undefined;
  const maxIterations = adaptive ? (k < 0.1 * n ? 7 : 4) + 1 : (opts.powerIterations as number);

  const s = shortSideOf(X);
  const m = s.m;
  const t = Math.min(l, m);
  const kk = Math.min(k, m); // triplets beyond the active short side are zero
  let route: TruncatedSVDResult['route'] = method === 'gram' ? 'gram' : 'randomized';
  if (method === 'auto') {
    const cost = routeCosts(s, k, t, adaptive ? EXPECTED_ITERATIONS : maxIterations);
    // The exact route when it costs at most 10 % more than the cheaper iterations (always when
    // the block would span the whole active short side anyway).
    if (t >= m || cost.gram <= 1.1 * Math.min(cost.randomized, cost.gramIterations)) route = 'gram';
    else if (cost.gramIterations < cost.randomized) route = 'gramIterations';
  }
  if (m === 0) return { ...assembleTriplets(s, k, 0, new Float64Array(0), new Float64Array(0)), route, iterations: 0 };
  let Ushort: Float64Array; // m × kk
  let Vlong: Float64Array; // M × kk, unnormalised: columns are σⱼ vⱼ
  let iterations = 0;
  if (route === 'gram') {
    ({ Ushort, Vlong } = exactTriplets(s, fullGram(s, sparsePartGram(s)), kk));
  } else {
    const G = route === 'gramIterations' ? sparsePartGram(s) : null;
    // Adaptive iterations on the formed Gram matrix cost m_s²·l each: they may go on until they
    // have cost as much as its full eigendecomposition, which then takes over (a flat spectrum
    // beyond σ_k converges slowly).
    let cap = maxIterations;
    if (G !== null && adaptive) {
      const perIteration = s.ms * s.ms * t + 4 * m * t * t + NS_EIGEN * t * t * t;
      cap = Math.max(3 * maxIterations, Math.floor((NS_EIGEN * m * m * m) / perIteration));
    }
    let converged = !adaptive;
    const rng = new Random(opts.seed ?? 0);
    let Q: Float64Array;
    if (adaptive || G !== null) {
      Q = new Float64Array(m * t);
      for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
    } else {
      // sklearn's range finder: Q = orth(A Ω), Ω Gaussian on the long side, then the iterations
      const omega = new Float64Array(s.M * t);
      for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
      Q = shortTimes(s, omega, t);
    }
    orthonormalizeColumns({ rows: m, cols: t, data: Q });
    let Z: Float64Array | null = null;
    let previous: Float64Array | null = null;
    let ritz: { values: Float64Array; rows: Float64Array };
    for (;;) {
      let Y: Float64Array | null = null;
      let C: Float64Array;
      if (G !== null) {
        Y = gramTimes(s, G, Q, t);
        C = innerSymmetric(Q, Y, m, t);
      } else {
        Z = longTimes(s, Q, t); // = Bᵀ for B = Qᵀ A
        C = crossProduct(Z, s.M, t);
      }
      ritz = tridiagonalEigen(C, t);
      if (!(iterations < cap)) break;
      if (adaptive && previous !== null) {
        // Ritz values of a converged block still move by ~l·ε·σ₁²: never ask for less than that.
        const noise = 16 * t * EPS64 * Math.max(ritz.values[0], 0);
        converged = true;
        for (let j = 0; j < kk; j++) {
          if (Math.abs(ritz.values[j] - previous[j]) > tolerance * Math.abs(ritz.values[j]) + noise) converged = false;
        }
        if (converged) break;
      }
      previous = ritz.values;
      if (Y === null) Y = shortTimes(s, Z!, t);
      orthonormalizeColumns({ rows: m, cols: t, data: Y });
      Q = Y;
      iterations++;
    }
    if (G !== null && !converged) {
      route = 'gram';
      ({ Ushort, Vlong } = exactTriplets(s, fullGram(s, G), kk));
    } else {
      Ushort = timesRitz(Q, m, t, ritz.rows, kk);
      Vlong = G !== null ? longTimes(s, Ushort, kk) : timesRitz(Z!, s.M, t, ritz.rows, kk);
    }
  }
  return { ...assembleTriplets(s, k, kk, Ushort, Vlong), route, iterations };
}

/**
 * The exact route's triplets from the full Gram matrix A Aᵀ (m × m): its leading kk eigenvectors
 * (short side) and Aᵀ times them (long side, columns σⱼ vⱼ).
 */
function exactTriplets(s: ShortSide, G: Float64Array, kk: number): { Ushort: Float64Array; Vlong: Float64Array } {
  const m = s.m;
  const eig = tridiagonalEigen(G, m);
  // Eigenvalues within the Gram matrix's rounding (~m·ε·λ₁) are zero: rank-deficient X gets σ = 0.
  const floor = 8 * m * EPS64 * Math.max(eig.values[0], 0);
  const Ushort = new Float64Array(m * kk);
  for (let i = 0; i < m; i++) for (let j = 0; j < kk; j++) Ushort[i * kk + j] = eig.rows[j * m + i];
  const Vlong = longTimes(s, Ushort, kk);
  for (let j = 0; j < kk; j++) {
    if (eig.values[j] > floor) continue;
    for (let i = 0; i < s.M; i++) Vlong[i * kk + j] = 0;
  }
  return { Ushort, Vlong };
}

/**
 * U, S, Vt of X from the short-side vectors (m × kk, orthonormal columns) and the long-side ones
 * (M × kk, columns σⱼ vⱼ): σⱼ = ‖σⱼ vⱼ‖ (accurate to ~ε·σ₁ even for tiny σⱼ, unlike √ of the Ritz
 * value), then sklearn's svd_flip. Triplets k > kk (beyond the active short side) are zero.
 */
function assembleTriplets(s: ShortSide, k: number, kk: number, Ushort: Float64Array, Vlong: Float64Array): SVDResult {
  const r = s.X.rows;
  const c = s.X.cols;
  const { m, M, ids } = s;
  const U = zeros(r, k);
  const S = new Float64Array(k);
  const Vt = zeros(k, c);
  for (let j = 0; j < kk; j++) {
    let nrm2 = 0;
    for (let i = 0; i < M; i++) nrm2 += Vlong[i * kk + j] * Vlong[i * kk + j];
    const sigma = Math.sqrt(nrm2);
    S[j] = sigma;
    const inv = sigma > 0 ? 1 / sigma : 0;
    if (s.wide) {
      for (let i = 0; i < m; i++) U.data[ids[i] * k + j] = Ushort[i * kk + j];
      for (let i = 0; i < M; i++) Vt.data[j * c + i] = Vlong[i * kk + j] * inv;
    } else {
      for (let i = 0; i < M; i++) U.data[i * k + j] = Vlong[i * kk + j] * inv;
      for (let i = 0; i < m; i++) Vt.data[j * c + ids[i]] = Ushort[i * kk + j];
    }
    // svd_flip: the largest-magnitude entry of U[:, j] positive (ties: the first).
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < r; i++) {
      const a = Math.abs(U.data[i * k + j]);
      if (a > bestAbs) {
        bestAbs = a;
        best = i;
      }
    }
    if (U.data[best * k + j] < 0) {
      for (let i = 0; i < r; i++) U.data[i * k + j] = -U.data[i * k + j];
      for (let i = 0; i < c; i++) Vt.data[j * c + i] = -Vt.data[j * c + i];
    }
  }
  return { U, S, Vt };
}
