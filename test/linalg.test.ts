import { describe, expect, it } from 'vitest';
import {
  fromRows,
  identity,
  lstsq,
  matmul,
  matmulTransA,
  matmulTransB,
  nnls,
  svd,
  symmetricEigen,
  toRows,
  transpose,
  zeros,
} from '../src/cpu/linalg.js';
import { truncatedSVD } from '../src/cpu/truncated-svd.js';
import { Random } from '../src/random.js';
import type { Matrix64 } from '../src/types.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix64 {
  const r = new Random(seed);
  const A = zeros(rows, cols);
  for (let i = 0; i < A.data.length; i++) A.data[i] = r.normal();
  return A;
}

function maxAbsDiff(A: Matrix64, B: Matrix64): number {
  expect([A.rows, A.cols]).toEqual([B.rows, B.cols]);
  let m = 0;
  for (let i = 0; i < A.data.length; i++) m = Math.max(m, Math.abs(A.data[i] - B.data[i]));
  return m;
}

function column(A: Matrix64, j: number): Float64Array {
  return Float64Array.from({ length: A.rows }, (_, i) => A.data[i * A.cols + j]);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** ‖QᵀQ − I‖_max for the columns of Q. */
function orthogonalityError(Q: Matrix64): number {
  return maxAbsDiff(matmulTransA(Q, Q), identity(Q.cols));
}

describe('products and transpose', () => {
  it('matmul matches a hand-computed product', () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const B = fromRows([
      [7, 8],
      [9, 10],
      [11, 12],
    ]);
    expect(toRows(matmul(A, B))).toEqual([
      [58, 64],
      [139, 154],
    ]);
    expect(toRows(transpose(A))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('matmulTransA and matmulTransB agree with explicit transposes', () => {
    const A = randomMatrix(7, 4, 1);
    const B = randomMatrix(7, 5, 2);
    const C = randomMatrix(6, 4, 3);
    expect(maxAbsDiff(matmulTransA(A, B), matmul(transpose(A), B))).toBeLessThan(1e-14);
    expect(maxAbsDiff(matmulTransB(A, C), matmul(A, transpose(C)))).toBeLessThan(1e-14);
  });

  it('matmulTransA of a thin A (zero-skipping order) equals the sum over l in order, bit for bit', () => {
    for (const r of [1, 3, 8, 9]) {
      const A = randomMatrix(40, r, 10 + r);
      const B = randomMatrix(40, 33, 20 + r);
      for (let i = 0; i < B.data.length; i++) if (i % 5 !== 0) B.data[i] = 0; // 80 % zeros, like counts
      const want = zeros(r, 33);
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < 33; j++) {
          let sum = 0;
          for (let l = 0; l < 40; l++) sum += A.data[l * r + i] * B.data[l * 33 + j];
          want.data[i * 33 + j] = sum;
        }
      }
      expect(Array.from(matmulTransA(A, B).data)).toEqual(Array.from(want.data));
    }
  });

  it('accepts float32 inputs', () => {
    const A = { rows: 2, cols: 2, data: new Float32Array([1, 2, 3, 4]) };
    expect(toRows(matmul(A, identity(2)))).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('rejects mismatched shapes with both shapes in the message', () => {
    expect(() => matmul(zeros(2, 3), zeros(2, 3))).toThrow(/2 × 3.*2 × 3/);
    expect(() => matmulTransA(zeros(2, 3), zeros(3, 3))).toThrow(/2 × 3.*3 × 3/);
    expect(() => matmul({ rows: 2, cols: 2, data: new Float64Array(3) }, zeros(2, 2))).toThrow(/data has 3/);
  });
});

describe('symmetricEigen', () => {
  it('solves a 2 × 2 case by hand', () => {
    const { values, vectors } = symmetricEigen(
      fromRows([
        [2, 1],
        [1, 2],
      ]),
    );
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(vectors.data[0])).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors.data[0] * vectors.data[2]).toBeGreaterThan(0); // (1, 1)/√2 for λ = 3
  });

  it('matches numpy on the 5 × 5 Hilbert matrix', () => {
    const H = fromRows(Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => 1 / (i + j + 1))));
    // Expected: numpy.linalg.eigvalsh of the same matrix, descending.
    const expected = [
      1.5670506910982307, 2.0853421861101332e-1, 1.1407491623419655e-2, 3.0589804015114139e-4, 3.2879287721667084e-6,
    ];
    const { values } = symmetricEigen(H);
    expected.forEach((e, i) => expect(Math.abs(values[i] - e)).toBeLessThan(1e-15 * 10));
  });

  it('gives A V = V Λ with orthogonal V for a random symmetric matrix', () => {
    const B = randomMatrix(12, 12, 4);
    const A = matmulTransA(B, B);
    for (let i = 0; i < 12; i++) A.data[i * 12 + i] -= 10; // indefinite
    const { values, vectors } = symmetricEigen(A);
    expect(orthogonalityError(vectors)).toBeLessThan(1e-13);
    const AV = matmul(A, vectors);
    const VL = matmul(vectors, zeros(12, 12));
    for (let j = 0; j < 12; j++) for (let i = 0; i < 12; i++) VL.data[i * 12 + j] = vectors.data[i * 12 + j] * values[j];
    expect(maxAbsDiff(AV, VL)).toBeLessThan(1e-12);
    for (let j = 1; j < 12; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
    expect(values[11]).toBeLessThan(0);
  });

  it('rejects non-symmetric and non-square input', () => {
    expect(() => symmetricEigen(fromRows([[1, 2], [0, 1]]))).toThrow(/not symmetric/);
    expect(() => symmetricEigen(zeros(2, 3))).toThrow(/square/);
  });
});

describe('svd', () => {
  it('matches numpy singular values of a rank-2 matrix', () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);
    const { S } = svd(A);
    // Expected: numpy.linalg.svd(A, compute_uv=False) = [25.462407436036393, 1.290661675761233, 2.4e-15].
    expect(S[0]).toBeCloseTo(25.462407436036393, 12);
    expect(S[1]).toBeCloseTo(1.29066167576123, 12);
    expect(S[2]).toBeLessThan(1e-13);
  });

  for (const [rows, cols] of [
    [30, 6],
    [6, 30],
    [9, 9],
  ]) {
    it(`reconstructs A = U S Vᵀ with orthonormal factors (${rows} × ${cols})`, () => {
      const A = randomMatrix(rows, cols, rows * 100 + cols);
      const { U, S, Vt } = svd(A);
      const q = Math.min(rows, cols);
      expect([U.rows, U.cols, S.length, Vt.rows, Vt.cols]).toEqual([rows, q, q, q, cols]);
      expect(orthogonalityError(U)).toBeLessThan(1e-13);
      expect(orthogonalityError(transpose(Vt))).toBeLessThan(1e-13);
      const US = zeros(rows, q);
      for (let i = 0; i < rows; i++) for (let j = 0; j < q; j++) US.data[i * q + j] = U.data[i * q + j] * S[j];
      expect(maxAbsDiff(matmul(US, Vt), A)).toBeLessThan(1e-13);
      for (let j = 1; j < q; j++) expect(S[j]).toBeLessThanOrEqual(S[j - 1]);
    });
  }
});

describe('truncatedSVD (randomized)', () => {
  /** Low-rank signal plus a little noise, with well separated singular values. */
  function lowRankPlusNoise(rows: number, cols: number, seed: number): Matrix64 {
    const r = new Random(seed);
    const rank = 6;
    const L = randomMatrix(rows, rank, seed + 1);
    const R = randomMatrix(rank, cols, seed + 2);
    for (let t = 0; t < rank; t++) for (let j = 0; j < cols; j++) R.data[t * cols + j] *= 2 ** (rank - t);
    const X = matmul(L, R);
    for (let i = 0; i < X.data.length; i++) X.data[i] = Math.abs(X.data[i] + 0.01 * r.normal());
    return X;
  }

  for (const [rows, cols, method] of [
    [40, 600, 'randomized'],
    [600, 40, 'randomized'],
    [40, 600, 'gram'],
    [600, 40, 'gram'],
    [300, 310, 'auto'],
  ] as const) {
    it(`matches the exact SVD's leading triplets up to sign (${rows} × ${cols}, ${method})`, () => {
      const X = lowRankPlusNoise(rows, cols, 5);
      const k = 4;
      const exact = svd(X);
      const approx = truncatedSVD(X, k, { seed: 3, method });
      expect([approx.U.rows, approx.U.cols, approx.S.length, approx.Vt.rows, approx.Vt.cols]).toEqual([rows, k, k, k, cols]);
      for (let j = 0; j < k; j++) {
        expect(Math.abs(approx.S[j] - exact.S[j]) / exact.S[j]).toBeLessThan(1e-10);
        const u = column(approx.U, j);
        const ue = column(exact.U, j);
        expect(Math.abs(Math.abs(dot(u, ue)) - 1)).toBeLessThan(1e-9);
        const v = approx.Vt.data.subarray(j * cols, (j + 1) * cols);
        const ve = exact.Vt.data.subarray(j * cols, (j + 1) * cols);
        expect(Math.abs(Math.abs(dot(v, ve)) - 1)).toBeLessThan(1e-9);
        // The pair keeps its joint sign: u_j · X v_j = +s_j.
        const Xv = matmul(X, { rows: cols, cols: 1, data: Float64Array.from(v) });
        expect(dot(u, Xv.data) / approx.S[j]).toBeCloseTo(1, 9);
        // sklearn's svd_flip: the largest-magnitude entry of each U column is positive.
        let best = 0;
        for (let i = 0; i < rows; i++) if (Math.abs(u[i]) > Math.abs(u[best])) best = i;
        expect(u[best]).toBeGreaterThan(0);
      }
      expect(orthogonalityError(approx.U)).toBeLessThan(1e-12);
    });
  }

  for (const [rows, cols] of [
    [40, 600],
    [600, 40],
  ] as const) {
    it(`works per nonzero on mostly zero X and still matches the exact SVD (${rows} × ${cols}, ~70 % zeros)`, () => {
      // rank 6 from sparse factors (each a quarter nonzero), separated scales, noise on the nonzeros only
      const r = new Random(8);
      const X = zeros(rows, cols);
      for (let t = 0; t < 6; t++) {
        const a = Array.from({ length: rows }, () => (r.uniform() < 0.25 ? r.uniform() : 0));
        const b = Array.from({ length: cols }, () => (r.uniform() < 0.25 ? r.uniform() * 2 ** (6 - t) : 0));
        for (let i = 0; i < rows; i++) if (a[i] !== 0) for (let j = 0; j < cols; j++) X.data[i * cols + j] += a[i] * b[j];
      }
      let nonzero = 0;
      for (let i = 0; i < X.data.length; i++) if (X.data[i] !== 0) (nonzero++, (X.data[i] += 0.001 * r.uniform()));
      expect(nonzero / X.data.length).toBeLessThan(0.5); // the compressed-rows route
      const exact = svd(X);
      const approx = truncatedSVD(X, 4, { seed: 3, method: 'randomized' });
      for (let j = 0; j < 4; j++) {
        expect(Math.abs(approx.S[j] - exact.S[j]) / exact.S[j]).toBeLessThan(1e-8);
        expect(Math.abs(Math.abs(dot(column(approx.U, j), column(exact.U, j))) - 1)).toBeLessThan(1e-8);
        const v = approx.Vt.data.subarray(j * cols, (j + 1) * cols);
        expect(Math.abs(Math.abs(dot(v, exact.Vt.data.subarray(j * cols, (j + 1) * cols))) - 1)).toBeLessThan(1e-8);
      }
    });
  }

  it('is reproducible for a seed and rejects a bad k', () => {
    const X = lowRankPlusNoise(30, 80, 9);
    const a = truncatedSVD(X, 3, { seed: 1 });
    const b = truncatedSVD(X, 3, { seed: 1 });
    expect(Array.from(a.U.data)).toEqual(Array.from(b.U.data));
    expect(() => truncatedSVD(X, 31)).toThrow(/k must be/);
    expect(() => truncatedSVD(X, 0)).toThrow(/k must be/);
  });

  for (const method of ['randomized', 'gram'] as const) {
    it(`handles rank-deficient input (k above the rank, ${method})`, () => {
      const u = randomMatrix(20, 1, 1);
      const v = randomMatrix(1, 50, 2);
      const X = matmul(u, v); // rank 1
      const { S, U, Vt } = truncatedSVD(X, 3, { seed: 0, method });
      expect(S[1] / S[0]).toBeLessThan(1e-12);
      expect(U.data.every((x) => Number.isFinite(x))).toBe(true);
      expect(Vt.data.every((x) => Number.isFinite(x))).toBe(true);
    });
  }

  it("'auto' takes the Gram route when one side is small and agrees with the randomized route there", () => {
    const X = lowRankPlusNoise(12, 3000, 4);
    const a = truncatedSVD(X, 3, { seed: 2 });
    const g = truncatedSVD(X, 3, { method: 'gram' });
    const r = truncatedSVD(X, 3, { seed: 2, method: 'randomized' });
    // the Gram route ignores the seed: 'auto' equals it exactly, and the randomized route to rounding
    expect(Array.from(a.U.data)).toEqual(Array.from(g.U.data));
    expect(maxAbsDiff({ rows: 3, cols: 3000, data: g.Vt.data }, { rows: 3, cols: 3000, data: r.Vt.data })).toBeLessThan(1e-9);
    expect(() => truncatedSVD(X, 3, { method: 'qr' as never })).toThrow(/method must be/);
  });
});

describe('truncatedSVD: routes, adaptive stop, explicit iterations', () => {
  /**
   * Sparse rank 6 plus noise, like EDX counts of 6 phases: factors with a `density` share of
   * nonzeros (so X has ~6·density² nonzero), separated scales, noise on the nonzeros only.
   */
  function sparseLowRank(rows: number, cols: number, density: number, seed: number): Matrix64 {
    const r = new Random(seed);
    const X = zeros(rows, cols);
    for (let t = 0; t < 6; t++) {
      const a = Array.from({ length: rows }, () => (r.uniform() < density ? r.uniform() : 0));
      const b = Array.from({ length: cols }, () => (r.uniform() < density ? r.uniform() * 2 ** (6 - t) : 0));
      for (let i = 0; i < rows; i++) if (a[i] !== 0) for (let j = 0; j < cols; j++) X.data[i * cols + j] += a[i] * b[j];
    }
    for (let i = 0; i < X.data.length; i++) if (X.data[i] !== 0) X.data[i] += 0.01 * r.uniform();
    return X;
  }

  /** A sparse X whose spectrum is flat beyond σ₁ (random mask on a rank-6 matrix): slow to converge. */
  function maskedLowRank(rows: number, cols: number, density: number, seed: number): Matrix64 {
    const r = new Random(seed);
    const X = zeros(rows, cols);
    for (let t = 0; t < 6; t++) {
      const a = Array.from({ length: rows }, () => r.uniform());
      const b = Array.from({ length: cols }, () => r.uniform() * 2 ** (6 - t));
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) X.data[i * cols + j] += a[i] * b[j];
    }
    for (let i = 0; i < X.data.length; i++) X.data[i] = r.uniform() < density ? X.data[i] : 0;
    return X;
  }

  /** Max over the k triplets of |σ − σₑ|/σₑ and of the angle (‖a ∓ b‖) between u's and v's. */
  function tripletError(a: { U: Matrix64; S: Float64Array; Vt: Matrix64 }, e: { U: Matrix64; S: Float64Array; Vt: Matrix64 }, k: number) {
    let s = 0;
    let angle = 0;
    const c = a.Vt.cols;
    for (let j = 0; j < k; j++) {
      s = Math.max(s, Math.abs(a.S[j] - e.S[j]) / e.S[j]);
      const ua = Float64Array.from({ length: a.U.rows }, (_, i) => a.U.data[i * a.U.cols + j]);
      const ue = Float64Array.from({ length: e.U.rows }, (_, i) => e.U.data[i * e.U.cols + j]);
      const va = a.Vt.data.subarray(j * c, (j + 1) * c);
      const ve = e.Vt.data.subarray(j * c, (j + 1) * c);
      for (const [x, y] of [
        [ua, ue],
        [va, ve],
      ] as const) {
        const sign = dot(x, y) < 0 ? -1 : 1;
        let d = 0;
        for (let i = 0; i < x.length; i++) d += (x[i] - sign * y[i]) ** 2;
        angle = Math.max(angle, Math.sqrt(d));
      }
    }
    return { s, angle };
  }

  it('the adaptive stop ends early once the Ritz values settle and still gives the exact triplets; a flat spectrum runs to the maximum', () => {
    for (const [rows, cols] of [
      [40, 600],
      [600, 40],
    ] as const) {
      const X = sparseLowRank(rows, cols, 0.3, 11);
      const exact = svd(X);
      const a = truncatedSVD(X, 3, { seed: 1, method: 'randomized' });
      expect(a.route).toBe('randomized');
      expect(a.iterations).toBeGreaterThan(0);
      expect(a.iterations).toBeLessThan(4); // the maximum is 8: sklearn's 7 (k < 0.1·min(r, c)) plus one
      const err = tripletError(a, exact, 3);
      expect(err.s).toBeLessThan(1e-12);
      expect(err.angle).toBeLessThan(1e-9);
    }
    // Beyond σ₁ this spectrum is flat (σ₁₇/σ₃ ≈ 0.7): the iterations run to the maximum, sklearn's
    // count plus one (7 where k < 0.1·min(r, c), else 4), unless the tolerance is loosened.
    const flat = maskedLowRank(40, 600, 0.3, 11);
    expect(truncatedSVD(flat, 3, { seed: 1, method: 'randomized' }).iterations).toBe(8);
    expect(truncatedSVD(flat, 4, { seed: 1, method: 'randomized' }).iterations).toBe(5);
    const loose = truncatedSVD(flat, 3, { seed: 1, method: 'randomized', tolerance: 1e-3 });
    expect(loose.iterations).toBeGreaterThan(0);
    expect(loose.iterations).toBeLessThan(8);
    expect(() => truncatedSVD(zeros(3, 3), 1, { tolerance: -1 })).toThrow(/tolerance/);
  });

  it('an explicit powerIterations runs exactly that many: the result is the Rayleigh–Ritz of (X Xᵀ)^q X Ω', () => {
    // A flat spectrum (Gaussian X) so that every iteration still changes the result.
    const rows = 30;
    const cols = 120;
    const k = 3;
    const l = 7; // k + oversamples
    const seed = 5;
    const X = randomMatrix(rows, cols, 77);
    /** The range finder written out plainly: Q = orth((X Xᵀ)^q X Ω) by Gram–Schmidt on dense products, then B = Qᵀ X. */
    function reference(q: number): Matrix64 {
      const rng = new Random(seed);
      const omega = zeros(cols, l);
      for (let i = 0; i < omega.data.length; i++) omega.data[i] = rng.normal();
      let Y = matmul(X, omega);
      for (let it = 0; it <= q; it++) {
        Y = svd(Y).U; // orthonormal basis of the same span
        if (it < q) Y = matmul(X, matmulTransA(X, Y));
      }
      const B = matmulTransA(Y, X); // l × cols
      return matmul(Y, svd(B).U); // Ritz vectors, descending
    }
    const refs = [0, 1, 2, 3, 4].map(reference);
    for (const q of [0, 1, 3]) {
      const res = truncatedSVD(X, k, { seed, powerIterations: q, oversamples: l - k, method: 'randomized' });
      expect(res.iterations).toBe(q);
      for (let j = 0; j < k; j++) {
        const u = column(res.U, j);
        expect(Math.abs(Math.abs(dot(u, column(refs[q], j))) - 1)).toBeLessThan(1e-9);
        // … and not the result of one iteration more (the test can tell them apart)
        expect(Math.abs(Math.abs(dot(u, column(refs[q + 1], j))) - 1)).toBeGreaterThan(1e-6);
      }
    }
  });

  it("'auto' forms the Gram matrix and iterates on it when the short side is large and X sparse", () => {
    const X = sparseLowRank(300, 3000, 0.15, 3);
    const a = truncatedSVD(X, 3, { seed: 2 });
    expect(a.route).toBe('gramIterations');
    expect(a.iterations).toBeGreaterThan(0);
    expect(a.iterations).toBeLessThan(8);
    const g = truncatedSVD(X, 3, { method: 'gram' });
    expect([g.route, g.iterations]).toEqual(['gram', 0]);
    const err = tripletError(a, g, 3);
    expect(err.s).toBeLessThan(1e-12);
    expect(err.angle).toBeLessThan(1e-8);
    expect(orthogonalityError(a.U)).toBeLessThan(1e-12);
    // A flat spectrum beyond σ₁ needs many more (cheap) iterations there; they still converge.
    const F = maskedLowRank(300, 3000, 0.1, 3);
    const f = truncatedSVD(F, 3, { seed: 2 });
    expect(f.iterations).toBeGreaterThan(8);
    const ferr = tripletError(f, truncatedSVD(F, 3, { method: 'gram' }), 3);
    expect(ferr.s).toBeLessThan(1e-11);
    expect(ferr.angle).toBeLessThan(1e-5);
  });

  for (const wide of [true, false]) {
    it(`keeps constant rows (ESPM's ε fill) out of the entries and still matches the exact SVD (${wide ? 'wide' : 'tall'} X)`, () => {
      const base = sparseLowRank(60, 500, 0.2, 21);
      for (let i = 0; i < 60; i += 3) for (let j = 0; j < 500; j++) base.data[i * 500 + j] = 1e-3 * (1 + (i % 2));
      for (let i = 1; i < 60; i += 7) for (let j = 0; j < 500; j++) base.data[i * 500 + j] = 0; // empty rows too
      const X = wide ? base : transpose(base);
      const exact = svd(X);
      for (const method of ['auto', 'gram', 'randomized'] as const) {
        const res = truncatedSVD(X, 4, { seed: 3, method });
        const err = tripletError(res, exact, 4);
        expect(err.s, method).toBeLessThan(1e-10);
        expect(err.angle, method).toBeLessThan(1e-7);
        expect(orthogonalityError(res.U)).toBeLessThan(1e-12);
      }
    });
  }

  it('returns zero triplets beyond the nonzero short side (k above the number of nonzero rows)', () => {
    const X = zeros(50, 400);
    const r = new Random(4);
    for (const i of [7, 30]) for (let j = 0; j < 400; j++) X.data[i * 400 + j] = r.uniform() < 0.3 ? r.uniform() : 0;
    const exact = svd(X);
    for (const method of ['auto', 'gram', 'randomized'] as const) {
      const res = truncatedSVD(X, 3, { seed: 0, method });
      expect(tripletError(res, exact, 2).angle).toBeLessThan(1e-10);
      expect(res.S[2]).toBe(0);
      expect(res.U.data.every((x) => Number.isFinite(x))).toBe(true);
      expect(res.Vt.data.every((x) => Number.isFinite(x))).toBe(true);
      for (let i = 0; i < 50; i++) if (i !== 7 && i !== 30) expect(res.U.data[i * 3]).toBe(0);
    }
    const none = truncatedSVD(zeros(4, 9), 2);
    expect(Array.from(none.S)).toEqual([0, 0]);
  });

  it("the exact Gram route's eigensolver handles repeated eigenvalues: X = [I | I] reconstructs", () => {
    const n = 6;
    const X = zeros(n, 2 * n);
    for (let i = 0; i < n; i++) {
      X.data[i * 2 * n + i] = 1;
      X.data[i * 2 * n + n + i] = 1;
    }
    const { U, S, Vt } = truncatedSVD(X, n, { method: 'gram' });
    for (let j = 0; j < n; j++) expect(S[j]).toBeCloseTo(Math.SQRT2, 14);
    expect(orthogonalityError(U)).toBeLessThan(1e-14);
    const US = zeros(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) US.data[i * n + j] = U.data[i * n + j] * S[j];
    expect(maxAbsDiff(matmul(US, Vt), X)).toBeLessThan(1e-14);
  });

  it('float32 input gives the float64 result to float32 rounding', () => {
    const X = sparseLowRank(40, 700, 0.25, 6);
    const X32 = { rows: X.rows, cols: X.cols, data: Float32Array.from(X.data) };
    const X64 = { rows: X.rows, cols: X.cols, data: Float64Array.from(X32.data) };
    for (const method of ['gram', 'randomized'] as const) {
      const a = truncatedSVD(X32, 3, { seed: 1, method });
      const b = truncatedSVD(X64, 3, { seed: 1, method });
      expect(maxAbsDiff(a.U, b.U)).toBeLessThan(1e-12);
      expect(maxAbsDiff(a.Vt, b.Vt)).toBeLessThan(1e-12);
    }
  });
});

describe('lstsq', () => {
  it('solves a tall full-rank system like the normal equations', () => {
    const A = randomMatrix(50, 4, 11);
    const B = randomMatrix(50, 3, 12);
    const X = lstsq(A, B);
    // Normal equations: Aᵀ (A X − B) = 0.
    const R = matmul(A, X);
    for (let i = 0; i < R.data.length; i++) R.data[i] -= B.data[i];
    const grad = matmulTransA(A, R);
    expect(Math.max(...Array.from(grad.data, Math.abs))).toBeLessThan(1e-12);
  });

  it('gives numpy’s minimum-norm solution for a rank-deficient matrix', () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);
    const B = fromRows([
      [1, 0],
      [2, 1],
      [2, 0],
      [5, 1],
    ]);
    // Expected: numpy.linalg.lstsq(A, B, rcond=None)[0].
    const expected = fromRows([
      [0.1833333333333322, -0.01111111111111126],
      [0.1333333333333332, 0.02222222222222228],
      [0.08333333333333445, 0.05555555555555565],
    ]);
    expect(maxAbsDiff(lstsq(A, B), expected)).toBeLessThan(1e-13);
  });

  it('gives the minimum-norm exact solution of a wide system', () => {
    const A = randomMatrix(3, 8, 13);
    const b = randomMatrix(3, 1, 14);
    const x = lstsq(A, b);
    expect(maxAbsDiff(matmul(A, x), b)).toBeLessThan(1e-13);
    // Minimum norm ⇔ x lies in the row space: x = Aᵀ y with y = (A Aᵀ)⁻¹ b.
    const y = lstsq(matmulTransB(A, A), b);
    expect(maxAbsDiff(x, matmulTransA(A, y))).toBeLessThan(1e-12);
  });

  it('rejects mismatched rows', () => {
    expect(() => lstsq(zeros(4, 2), zeros(3, 1))).toThrow(/4 × 2.*3 × 1/);
  });
});

describe('nnls', () => {
  /** Exact NNLS by enumerating every support set (fine for n ≤ 6). */
  function bruteNnls(A: Matrix64, b: Float64Array): { x: Float64Array; residual: number } {
    const n = A.cols;
    let best = { x: new Float64Array(n), residual: Math.hypot(...b) };
    for (let mask = 1; mask < 1 << n; mask++) {
      const idx = Array.from({ length: n }, (_, j) => j).filter((j) => mask & (1 << j));
      const As = zeros(A.rows, idx.length);
      for (let i = 0; i < A.rows; i++) idx.forEach((j, c) => (As.data[i * idx.length + c] = A.data[i * n + j]));
      const z = lstsq(As, { rows: A.rows, cols: 1, data: b });
      if (z.data.some((v) => v < 0)) continue;
      const x = new Float64Array(n);
      idx.forEach((j, c) => (x[j] = z.data[c]));
      const r = matmul(A, { rows: n, cols: 1, data: x });
      const residual = Math.hypot(...r.data.map((v, i) => v - b[i]));
      if (residual < best.residual - 1e-12) best = { x, residual };
    }
    return best;
  }

  it('solves hand-checked cases', () => {
    expect(Array.from(nnls(identity(2), [1, -1]).x)).toEqual([1, 0]);
    // A = [[1, 0], [1, 0], [0, 1]], b = [2, 1, 1]: x = [1.5, 1].
    const r = nnls(
      fromRows([
        [1, 0],
        [1, 0],
        [0, 1],
      ]),
      [2, 1, 1],
    );
    expect(r.x[0]).toBeCloseTo(1.5, 14);
    expect(r.x[1]).toBeCloseTo(1, 14);
    expect(r.residual).toBeCloseTo(Math.SQRT1_2, 14);
  });

  it('matches exhaustive search and satisfies the KKT conditions on random problems', () => {
    for (let trial = 0; trial < 40; trial++) {
      const m = 4 + (trial % 7);
      const n = 1 + (trial % 6);
      const A = randomMatrix(m, n, 1000 + trial);
      const b = randomMatrix(m, 1, 2000 + trial).data;
      const { x, residual } = nnls(A, b);
      const brute = bruteNnls(A, b);
      expect(Math.abs(residual - brute.residual), `trial ${trial}`).toBeLessThan(1e-10);
      for (let j = 0; j < n; j++) expect(Math.abs(x[j] - brute.x[j]), `trial ${trial}, x[${j}]`).toBeLessThan(1e-9);
      // KKT: x ≥ 0; w = Aᵀ(b − Ax) ≤ 0 where x = 0 and w = 0 where x > 0.
      const r = matmul(A, { rows: n, cols: 1, data: x }).data.map((v, i) => b[i] - v);
      const w = matmulTransA(A, { rows: m, cols: 1, data: r }).data;
      for (let j = 0; j < n; j++) {
        expect(x[j]).toBeGreaterThanOrEqual(0);
        if (x[j] > 0) expect(Math.abs(w[j])).toBeLessThan(1e-10);
        else expect(w[j]).toBeLessThan(1e-10);
      }
    }
  });

  it('stops at the iteration guard and checks shapes', () => {
    const A = randomMatrix(10, 5, 7);
    const b = Float64Array.from({ length: 10 }, () => 1);
    expect(() => nnls(A, b, { maxIter: 0 })).toThrow(/no convergence/);
    expect(() => nnls(A, [1, 2])).toThrow(/b needs 10/);
  });
});

describe('nnls scale invariance', () => {
  it('solves a problem whose b is tiny as well as the same problem scaled up', () => {
    const A = randomMatrix(8, 3, 31);
    const b = randomMatrix(8, 1, 32).data;
    const big = nnls(A, b);
    const tiny = nnls(A, b.map((v) => v * 1e-20));
    expect(big.x.some((v) => v > 0)).toBe(true);
    big.x.forEach((v, j) => expect(Math.abs(tiny.x[j] * 1e20 - v)).toBeLessThan(1e-12 * Math.max(1, v)));
  });
});
