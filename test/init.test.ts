import { describe, expect, it } from 'vitest';
import { initialize, sklearnInitialize } from '../src/cpu/init.js';
import { fromRows, lstsq, matmul, svd, zeros } from '../src/cpu/linalg.js';
import { Random } from '../src/random.js';
import { EPSILON, type Matrix64 } from '../src/types.js';
import { expectClose as expectCloseArrays } from './helpers/compare.js';
import { loadMatrix } from './helpers/fixtures.js';

// A small non-negative X (6 channels × 8 pixels) and G (6 × 4) with hand-picked entries.
const X = fromRows([
  [3, 0, 1, 4, 0, 2, 5, 1],
  [1, 2, 0, 0, 3, 1, 0, 2],
  [0, 4, 2, 1, 6, 0, 1, 3],
  [5, 1, 0, 6, 1, 3, 7, 0],
  [2, 2, 2, 2, 2, 2, 2, 2],
  [0, 0, 1, 0, 0, 0, 1, 9],
]);
const G = fromRows([
  [1, 0, 0, 0.2],
  [0.5, 1, 0, 0.2],
  [0, 0.5, 1, 0.2],
  [0, 0, 0.5, 0.2],
  [0.3, 0, 0, 1],
  [0, 0.3, 0, 0.1],
]);

/*
 * Expected values: a numpy transcription of scikit-learn's `_initialize_nmf` (nndsvd branch, with
 * an exact `numpy.linalg.svd` plus sklearn's `svd_flip` in place of `randomized_svd`, which is
 * exact here because its sketch of 13 columns exceeds min(6, 8)), followed by ESPM's
 * `initialize_algorithms` post-processing; printed with 17 significant digits. k = 3.
 */
const NNDSVD_D = [
  [1.8018242530148771, 0, 0],
  [0.6417133448402987, 0.8395492206621795, 0.7805710686979905],
  [1.207714354472543, 1.5865735638214529, 1.810870833462962],
  [2.6211892421103165, 0, 0],
  [1.3638616589115857, 0.38799006736090497, 0.4062444191416364],
  [0.9248062166763288, 2.1556288896992886, 0],
];
const NNDSVD_H = [
  [1.4881940359502477, 0.7796523682717997, 0.5352516177744705, 1.827514479173818, 0.9875793638134386, 1.0090930045389057, 2.191238527912871, 1.207877508667891],
  [0, 0.7068345654175715, 0.5101263757649943, 0, 1.0891645928532343, 0, 0, 2.464387801739645],
  [0, 1.1290383834995013, 0.21899206605173901, 0, 1.6525370273900146, 0.00388246765454332, 0, 0],
];
const MEAN_X = 1.9166666666666667;
// simplex on H, G given: W = |lstsq(G, D · mean(colsum H))|, H columns normalised, clamped at ε.
const SIMPLEX_H_W = [
  [6.333067275035833, 6.67736476695249, 6.802783877664557],
  [1.7934605044455967, 1.5154878994434497, 1.0829713605287743],
  [7.902970104189855, 7.644739208381415, 8.581452172185186],
  [4.828144642254916, 0.7564069048787854, 0.6709730305917825],
];
const SIMPLEX_H_H = [
  [0.2796554321115139, 0.29808633972993176, 0.4233346192550052, 0.32283405943824944, 0.26481763322085644, 0.3444424119771605, 0.36371688783534656, 0.21611955801620134],
  [0.36017228394424305, 0.2702457364003904, 0.403462872198926, 0.33858297028087525, 0.2920575299929393, 0.6542323518777675, 0.3181415560823267, 0.4409407399926431],
  [0.36017228394424305, 0.4316679238696779, 0.17320250854606883, 0.33858297028087525, 0.4431248367862042, 0.00132523614507195, 0.3181415560823267, 0.34293970199115553],
];
// simplex on W, G given: W = |lstsq(G, D)| with columns divided by their sums.
const SIMPLEX_W_W = [
  [0.3036329377667581, 0.40239636362627607, 0.39693734705942935],
  [0.08598577246763697, 0.09132746841595533, 0.06319056823207683],
  [0.3789004483304575, 0.4606930077489033, 0.5007213106281974],
  [0.2314808414351474, 0.04558316020886534, 0.03915077408029658],
];

function expectClose(A: Matrix64, expected: number[][], tol: number, label: string): void {
  expect([A.rows, A.cols], `${label} shape`).toEqual([expected.length, expected[0].length]);
  for (let i = 0; i < A.rows; i++) {
    for (let j = 0; j < A.cols; j++) {
      const a = A.data[i * A.cols + j];
      const e = expected[i][j];
      expect(Math.abs(a - e), `${label}[${i}][${j}] = ${a}, expected ${e}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
    }
  }
}

function columnSums(A: Matrix64): number[] {
  const s = new Array<number>(A.cols).fill(0);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) s[j] += A.data[i * A.cols + j];
  return s;
}

describe("sklearn's _initialize_nmf", () => {
  it('nndsvd matches the numpy transcription', () => {
    const { D, H } = sklearnInitialize(X, 3, 'nndsvd', 0);
    expectClose(D, NNDSVD_D, 1e-10, 'D');
    expectClose(H, NNDSVD_H, 1e-10, 'H');
  });

  it('nndsvda fills the zeros with mean(X)', () => {
    const { D, H } = sklearnInitialize(X, 3, 'nndsvda', 0);
    const fill = (rows: number[][]) => rows.map((r) => r.map((v) => (v === 0 ? MEAN_X : v)));
    expectClose(D, fill(NNDSVD_D), 1e-10, 'D');
    expectClose(H, fill(NNDSVD_H), 1e-10, 'H');
  });

  it('nndsvdar fills the zeros with small seeded values and keeps the rest', () => {
    const a = sklearnInitialize(X, 3, 'nndsvdar', 5);
    const b = sklearnInitialize(X, 3, 'nndsvdar', 5);
    const c = sklearnInitialize(X, 3, 'nndsvdar', 6);
    expect(Array.from(a.H.data)).toEqual(Array.from(b.H.data));
    expect(Array.from(a.H.data)).not.toEqual(Array.from(c.H.data));
    const check = (M: Matrix64, ref: number[][]) => {
      ref.flat().forEach((e, i) => {
        if (e === 0) {
          expect(M.data[i]).toBeGreaterThan(0);
          expect(M.data[i]).toBeLessThan((6 * MEAN_X) / 100); // |mean · N(0,1)| / 100, 6σ bound
        } else {
          expect(Math.abs(M.data[i] - e)).toBeLessThan(1e-10 * Math.max(1, e));
        }
      });
    };
    check(a.D, NNDSVD_D);
    check(a.H, NNDSVD_H);
  });

  it('nndsvd agrees with an exact SVD on a larger matrix (randomized SVD is accurate enough)', () => {
    // Exact oracle: the same Boutsidis–Gallopoulos construction from the one-sided-Jacobi SVD.
    const r = new Random(21);
    const n = 30;
    const p = 400;
    const Y = zeros(n, p);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const phase = j < 150 ? 0 : j < 300 ? 1 : 2;
        Y.data[i * p + j] = r.poisson(5 + 20 * Math.exp(-((i - 8 * phase - 5) ** 2) / 8));
      }
    }
    const k = 3;
    const { D, H } = sklearnInitialize(Y, k, 'nndsvd', 0);
    const exact = svd(Y);
    // Component 0: √S0 |U0| and √S0 |V0|.
    for (let i = 0; i < n; i++) {
      expect(D.data[i * k]).toBeCloseTo(Math.sqrt(exact.S[0]) * Math.abs(exact.U.data[i * exact.U.cols]), 8);
    }
    for (let j = 0; j < p; j++) {
      expect(H.data[j]).toBeCloseTo(Math.sqrt(exact.S[0]) * Math.abs(exact.Vt.data[j]), 8);
    }
    // Every later component equals the exact construction (sign-free). Tolerance 1e-6: with
    // sklearn's 4 power iterations the sketch error scales like (σ_14/σ_3)^9 ≈ (69/408)^9 ≈ 1e-7.
    for (let c = 1; c < k; c++) {
      const x = Array.from({ length: n }, (_, i) => exact.U.data[i * exact.U.cols + c]);
      const y = Array.from(exact.Vt.data.subarray(c * p, (c + 1) * p));
      const pos = (v: number[], s: number) => v.map((e) => Math.max(s * e, 0));
      const nrm = (v: number[]) => Math.hypot(...v);
      const mp = nrm(pos(x, 1)) * nrm(pos(y, 1));
      const mn = nrm(pos(x, -1)) * nrm(pos(y, -1));
      const s = mp > mn ? 1 : -1;
      const lbd = Math.sqrt(exact.S[c] * Math.max(mp, mn));
      const u = pos(x, s).map((e) => (lbd * e) / nrm(pos(x, s)));
      const v = pos(y, s).map((e) => (lbd * e) / nrm(pos(y, s)));
      for (let i = 0; i < n; i++) {
        const e = u[i] < 1e-6 ? 0 : u[i];
        expect(Math.abs(D.data[i * k + c] - e)).toBeLessThan(1e-6 * Math.max(1, e));
      }
      for (let j = 0; j < p; j++) {
        const e = v[j] < 1e-6 ? 0 : v[j];
        expect(Math.abs(H.data[c * p + j] - e)).toBeLessThan(1e-6 * Math.max(1, e));
      }
    }
  });

  it('random: |avg · N(0,1)| with avg = sqrt(mean(X)/k), reproducible per seed', () => {
    const a = sklearnInitialize(X, 3, 'random', 1);
    const b = sklearnInitialize(X, 3, 'random', 1);
    const c = sklearnInitialize(X, 3, 'random', 2);
    expect(Array.from(a.D.data)).toEqual(Array.from(b.D.data));
    expect(Array.from(a.D.data)).not.toEqual(Array.from(c.D.data));
    expect([a.D.rows, a.D.cols, a.H.rows, a.H.cols]).toEqual([6, 3, 3, 8]);
    // Large case: E|avg · N| = avg · sqrt(2/π).
    const Y = { rows: 50, cols: 2000, data: new Float64Array(100_000).fill(3) };
    const big = sklearnInitialize(Y, 4, 'random', 0);
    const avg = Math.sqrt(3 / 4);
    const meanH = big.H.data.reduce((s, v) => s + v, 0) / big.H.data.length;
    expect(big.H.data.every((v) => v >= 0)).toBe(true);
    expect(Math.abs(meanH - avg * Math.sqrt(2 / Math.PI))).toBeLessThan(0.01 * avg);
  });

  it('refuses nndsvd with k > min(n, p)', () => {
    expect(() => sklearnInitialize(X, 7, 'nndsvda', 0)).toThrow(/k ≤ min/);
  });
});

describe('initialize (ESPM post-processing)', () => {
  it('defaults to nndsvda when k ≤ min(n, p) and to random beyond', () => {
    const auto = initialize(X, { k: 3, simplex: 'none', seed: 0 });
    const a = sklearnInitialize(X, 3, 'nndsvda', 0);
    expect(Array.from(auto.W.data)).toEqual(Array.from(a.D.data));
    expect(Array.from(auto.H.data)).toEqual(Array.from(a.H.data));
    const wide = initialize(X, { k: 7, simplex: 'none', seed: 4 });
    const r = sklearnInitialize(X, 7, 'random', 4);
    expect(Array.from(wide.H.data)).toEqual(Array.from(r.H.data).map((v) => Math.max(v, EPSILON)));
  });

  it('simplex on H with G: matches the numpy transcription of ESPM', () => {
    const { W, H } = initialize(X, { k: 3, method: 'nndsvda', G, simplex: 'h', seed: 0 });
    expectClose(W, SIMPLEX_H_W, 1e-9, 'W');
    expectClose(H, SIMPLEX_H_H, 1e-10, 'H');
    for (const s of columnSums(H)) expect(Math.abs(s - 1)).toBeLessThan(1e-14 * 4);
  });

  it('simplex on W with G: W columns sum to 1 and match numpy', () => {
    const { W, H } = initialize(X, { k: 3, method: 'nndsvda', G, simplex: 'w', seed: 0 });
    expectClose(W, SIMPLEX_W_W, 1e-9, 'W');
    for (const s of columnSums(W)) expect(Math.abs(s - 1)).toBeLessThan(1e-14);
    // H is sklearn's, untouched (no simplex on H).
    expectClose(H, NNDSVD_H.map((r) => r.map((v) => (v === 0 ? MEAN_X : v))), 1e-10, 'H');
  });

  it('simplex on H without G: W = D · mean(column sums of H)', () => {
    const raw = sklearnInitialize(X, 3, 'nndsvd', 0);
    const sums = columnSums(raw.H);
    const meanScale = sums.reduce((a, b) => a + b, 0) / sums.length;
    const { W, H } = initialize(X, { k: 3, method: 'nndsvd', simplex: 'h', seed: 0 });
    expect([W.rows, W.cols]).toEqual([6, 3]);
    raw.D.data.forEach((d, i) => expect(W.data[i]).toBeCloseTo(Math.max(d * meanScale, EPSILON), 12));
    // nndsvd leaves zeros: clamped at ε, never below.
    expect(Math.min(...W.data)).toBe(EPSILON);
    for (const s of columnSums(H)) expect(Math.abs(s - 1)).toBeLessThan(1e-13);
  });

  it('G given: W is |lstsq(G, D)| (m × k)', () => {
    const { W } = initialize(X, { k: 2, method: 'nndsvda', G, simplex: 'none', seed: 0 });
    const raw = sklearnInitialize(X, 2, 'nndsvda', 0);
    const expected = lstsq(G, raw.D);
    expect([W.rows, W.cols]).toEqual([4, 2]);
    expected.data.forEach((v, i) => expect(W.data[i]).toBe(Math.max(Math.abs(v), EPSILON)));
  });

  it('custom W0 and H0 are only clamped at ε, and shape-checked', () => {
    const W0 = fromRows([
      [0, 1],
      [2, -1],
      [3, 4],
      [0.5, 1e-20],
    ]);
    const H0 = zeros(2, 8);
    H0.data.fill(0.5);
    H0.data[3] = 0;
    const { W, H } = initialize(X, { k: 2, method: 'custom', G, simplex: 'h', seed: 0, W0, H0 });
    expect(Array.from(W.data)).toEqual([EPSILON, 1, 2, EPSILON, 3, 4, 0.5, EPSILON]);
    expect(H.data[3]).toBe(EPSILON);
    expect(H.data[4]).toBe(0.5);
    expect(() => initialize(X, { k: 2, G, simplex: 'h', seed: 0, W0: zeros(6, 2), H0 })).toThrow(
      /W0 .*must be 4 × 2, got 6 × 2/,
    );
    expect(() => initialize(X, { k: 2, simplex: 'none', seed: 0, W0: zeros(6, 2), H0: zeros(2, 7) })).toThrow(
      /H0 .*must be 2 × 8, got 2 × 7/,
    );
  });

  it('H0 alone: D = |lstsq(Hᵀ, Xᵀ)|ᵀ as ESPM does', () => {
    const H0 = zeros(2, 8);
    const r = new Random(3);
    for (let i = 0; i < H0.data.length; i++) H0.data[i] = r.uniform();
    const { W, H } = initialize(X, { k: 2, simplex: 'none', seed: 0, H0 });
    expect(Array.from(H.data)).toEqual(Array.from(H0.data));
    // Normal equations of min ‖Hᵀ Dᵀ − Xᵀ‖: (X − D H) Hᵀ = 0 for the signed solution; W = |D|.
    expect([W.rows, W.cols]).toEqual([6, 2]);
    const signed = lstsq({ rows: 8, cols: 2, data: Float64Array.from({ length: 16 }, (_, t) => H0.data[(t % 2) * 8 + Math.floor(t / 2)]) }, {
      rows: 8,
      cols: 6,
      data: Float64Array.from({ length: 48 }, (_, t) => X.data[(t % 6) * 8 + Math.floor(t / 6)]),
    });
    for (let i = 0; i < 6; i++) for (let c = 0; c < 2; c++) expect(W.data[i * 2 + c]).toBeCloseTo(Math.max(Math.abs(signed.data[c * 6 + i]), EPSILON), 12);
  });

  it('W0 alone: H = |lstsq(G W0, X)| normalised with the simplex on H', () => {
    const W0 = fromRows([
      [1, 0.1],
      [0.2, 1],
      [0.5, 0.5],
      [0.1, 0.3],
    ]);
    const { W, H } = initialize(X, { k: 2, G, simplex: 'h', seed: 0, W0 });
    expect(Array.from(W.data)).toEqual(Array.from(W0.data));
    const Hs = lstsq(matmul(G, W0), X);
    for (let j = 0; j < 8; j++) {
      const a = Math.abs(Hs.data[j]);
      const b = Math.abs(Hs.data[8 + j]);
      expect(H.data[j]).toBeCloseTo(Math.max(a / (a + b), EPSILON), 12);
    }
  });

  it('rejects negative data and a G with the wrong number of rows', () => {
    const bad = fromRows([
      [1, -1],
      [0, 2],
    ]);
    expect(() => initialize(bad, { k: 1, simplex: 'none', seed: 0 })).toThrow(/non-negative.*X\[0\]\[1\] = -1/);
    expect(() => initialize(X, { k: 2, G: zeros(5, 4), simplex: 'none', seed: 0 })).toThrow(/G must have 6 rows/);
    expect(() => initialize(X, { k: 2, method: 'custom', simplex: 'none', seed: 0 })).toThrow(/custom/);
  });
});

describe('ESPM toy fixtures (ESPM 1.1.3 + sklearn 1.2.1 initialisation, normalize on)', () => {
  /** ‖a − e‖ / ‖e‖ over one column (of W) or one row (of H). */
  function relFro(A: Matrix64, E: Matrix64, index: number, byColumn: boolean): number {
    let num = 0;
    let den = 0;
    const len = byColumn ? E.rows : E.cols;
    for (let t = 0; t < len; t++) {
      const at = byColumn ? t * E.cols + index : index * E.cols + t;
      num += (A.data[at] - E.data[at]) ** 2;
      den += E.data[at] ** 2;
    }
    return Math.sqrt(num / den);
  }

  const X0 = loadMatrix('X.npy');
  const mean = X0.data.reduce((a, b) => a + b, 0) / X0.data.length;
  const s = 3 / (mean * X0.rows); // ESPM's normalize: the mean pixel sum becomes k
  const Xn = { rows: X0.rows, cols: X0.cols, data: X0.data.map((v) => v * s) };

  /*
   * ESPM's start came from sklearn's randomized_svd (numpy's Mersenne Twister, 4 LU-normalised
   * power iterations). Its first triplet is exact; the 2nd and 3rd are only as accurate as that
   * sketch allows on Poisson data (σ_3/σ_4 is small): an exact SVD (numpy) differs from ESPM's
   * W0/H0 by as much as ours does. Measured here: component 0 to 1e-14, component 1 to ~4e-4
   * (W) / 4e-2 (H, with the simplex), component 2 to ~0.07 (W) / 0.15 (H). The bounds below
   * are about 3× those; a wrong construction (wrong part chosen, missing scaling) is off by O(1).
   */
  it('a_plain_kl: no G, no simplex', () => {
    const { W, H } = initialize(Xn, { k: 3, simplex: 'none', seed: 0 });
    const W0 = loadMatrix('a_plain_kl/W0.npy');
    const H0 = loadMatrix('a_plain_kl/H0.npy');
    expectCloseArrays(column(W, 0), column(W0, 0), { rel: 1e-12 }, 'W[:, 0]');
    expectCloseArrays(H.data.subarray(0, H.cols), H0.data.subarray(0, H0.cols), { rel: 1e-12 }, 'H[0, :]');
    expect(relFro(W, W0, 1, true)).toBeLessThan(2e-3);
    expect(relFro(H, H0, 1, false)).toBeLessThan(2e-3);
    expect(relFro(W, W0, 2, true)).toBeLessThan(0.2);
    expect(relFro(H, H0, 2, false)).toBeLessThan(0.4);
  });

  it('b_notebook: G given, simplex on H', () => {
    const G0 = loadMatrix('G.npy');
    const { W, H } = initialize(Xn, { k: 3, G: G0, simplex: 'h', seed: 0 });
    const W0 = loadMatrix('b_notebook/W0.npy');
    const H0 = loadMatrix('b_notebook/H0.npy');
    expect([W.rows, W.cols, H.rows, H.cols]).toEqual([15, 3, 3, 10_000]);
    [1e-3, 2e-3, 0.2].forEach((tol, c) => expect(relFro(W, W0, c, true), `W[:, ${c}]`).toBeLessThan(tol));
    [0.1, 0.1, 0.4].forEach((tol, c) => expect(relFro(H, H0, c, false), `H[${c}, :]`).toBeLessThan(tol));
    for (const sum of columnSums(H)) expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
  });
});

function column(A: Matrix64, j: number): Float64Array {
  return Float64Array.from({ length: A.rows }, (_, i) => A.data[i * A.cols + j]);
}
