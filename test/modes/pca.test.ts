/**
 * PCA against independent exact computations on small data: the loadings and variances of
 * 'exact' (Jacobi eigendecomposition of the covariance) match a one-sided Jacobi SVD of the
 * standardised data (up to sign); 'randomized' matches 'exact'; the scaling options do what
 * they say (standardised channels have mean 0, variance 1; Poisson scaling X/√(a_p b_j)).
 *
 * Tolerances: exact vs SVD: 1e-9 relative on variances, 1e-7 on |cos| of loadings; randomized vs
 * exact: 1e-6 relative on the top variances (well separated spectrum), |cos| ≥ 1 − 1e-6.
 */
import { describe, expect, test } from 'vitest';
import { svd } from '../../src/cpu/linalg.js';
import { fitPCA, pcaPreprocess, PCA } from '../../src/modes/pca.js';
import { WebnmfError } from '../../src/errors.js';
import type { Matrix64 } from '../../src/types.js';
import { mat, rng } from './fixtures.js';

/** Data with a clear low-rank structure plus noise: n channels × p pixels. */
function lowRank(n: number, p: number, seed: number): Matrix64 {
  const r = rng(seed);
  const k = 3;
  const D = mat(n, k, () => r());
  const sc = [10, 4, 1.5];
  const H = mat(k, p, (c) => sc[c] * r());
  return mat(n, p, (i, j) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += D.data[i * k + c] * H.data[c * p + j];
    return 5 + s + 0.05 * r();
  });
}

const absCos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return Math.abs(ab) / Math.sqrt(aa * bb);
};
const col = (A: Matrix64, c: number) => Float64Array.from({ length: A.rows }, (_, i) => A.data[i * A.cols + c]);

describe('PCA (CPU reference)', () => {
  const X = lowRank(12, 90, 3);

  test('standardisation: every channel has mean 0 and population variance 1', () => {
    const { Z } = pcaPreprocess(X, 'standardize', true);
    for (let i = 0; i < Z.rows; i++) {
      const row = Z.data.subarray(i * Z.cols, (i + 1) * Z.cols);
      const mean = row.reduce((a, v) => a + v, 0) / Z.cols;
      const v = row.reduce((a, x) => a + (x - mean) ** 2, 0) / Z.cols;
      expect(Math.abs(mean)).toBeLessThan(1e-12);
      expect(v).toBeCloseTo(1, 12);
    }
  });

  test('Poisson scaling: Z = X / sqrt(pixel sum · channel sum), then centred', () => {
    const { Z } = pcaPreprocess(X, 'poisson', false);
    let a0 = 0;
    let b3 = 0;
    for (let i = 0; i < X.rows; i++) a0 += X.data[i * X.cols];
    for (let j = 0; j < X.cols; j++) b3 += X.data[3 * X.cols + j];
    expect(Z.data[3 * X.cols]).toBeCloseTo(X.data[3 * X.cols] / Math.sqrt(a0 * b3), 14);
  });

  test("'exact' matches an independent SVD of the standardised data (up to sign)", async () => {
    const r = await fitPCA(X, { components: 4, backend: 'cpu', method: 'exact' });
    const { Z } = pcaPreprocess(X, 'standardize', true);
    const s = svd({ rows: Z.cols, cols: Z.rows, data: transposeData(Z) }); // Zᵀ = U S Vᵀ, V = loadings
    for (let c = 0; c < 4; c++) {
      expect(r.explainedVariance[c]).toBeCloseTo((s.S[c] * s.S[c]) / (X.cols - 1), 9);
      const v = Float64Array.from({ length: Z.rows }, (_, i) => s.Vt.data[c * Z.rows + i]);
      expect(absCos(col(r.loadings, c), v)).toBeGreaterThan(1 - 1e-7);
    }
    // scree: all n eigenvalues, summing to the total variance (= n for standardised data, ·p/(p−1))
    expect(r.scree!.length).toBe(12);
    expect(r.scree!.reduce((a, v) => a + v, 0)).toBeCloseTo(r.totalVariance, 9);
    expect(r.totalVariance).toBeCloseTo((12 * X.cols) / (X.cols - 1), 9);
    // scores = Pᵀ Z, orthogonal rows with variance = explained variance
    for (let c = 0; c < 4; c++) {
      const t = r.scores.data.subarray(c * X.cols, (c + 1) * X.cols);
      expect(t.reduce((a, v) => a + v * v, 0) / (X.cols - 1)).toBeCloseTo(r.explainedVariance[c], 8);
    }
    // sign convention: largest-magnitude loading entry positive
    for (let c = 0; c < 4; c++) {
      const v = col(r.loadings, c);
      const big = v.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
      expect(big).toBeGreaterThan(0);
    }
  });

  test("'randomized' agrees with 'exact' on the leading components", async () => {
    const e = await fitPCA(X, { components: 3, backend: 'cpu', method: 'exact' });
    const r = await fitPCA(X, { components: 3, backend: 'cpu', method: 'randomized', seed: 4 });
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(r.explainedVariance[c] / e.explainedVariance[c] - 1)).toBeLessThan(1e-6);
      expect(absCos(col(r.loadings, c), col(e.loadings, c))).toBeGreaterThan(1 - 1e-6);
    }
    expect(r.explainedVarianceRatio.reduce((a, v) => a + v, 0)).toBeLessThanOrEqual(1 + 1e-12);
  });

  test('PCA estimator: fitTransform returns the scores; transform of the same data reproduces them', async () => {
    const m = new PCA({ components: 2, backend: 'cpu' });
    const T = await m.fitTransform(X);
    const T2 = m.transform(X);
    for (let i = 0; i < T.data.length; i++) expect(T2.data[i]).toBeCloseTo(T.data[i], 10);
    m.dispose();
    await expect(m.fit(X)).rejects.toThrow(/disposed/);
  });

  test('k larger than the data allows: a clear error naming the limit', async () => {
    const small = lowRank(5, 4, 1);
    await expect(fitPCA(small, { components: 4, backend: 'cpu' })).rejects.toThrow(/at most min\(channels, pixels − 1\) = min\(5, 3\) = 3 .*components ≤ 3/);
    await expect(fitPCA(small, { components: 4, backend: 'cpu' })).rejects.toBeInstanceOf(WebnmfError);
    await expect(fitPCA(small, { components: 2, backend: 'cpu', scaling: 'standardize', center: false })).rejects.toThrow(/center/);
  });
});

function transposeData(A: Matrix64): Float64Array {
  const out = new Float64Array(A.data.length);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) out[j * A.rows + i] = A.data[i * A.cols + j];
  return out;
}
