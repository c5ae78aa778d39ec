/**
 * Fixed-spectra NNLS on the CPU: the active-set reference satisfies the KKT conditions; FISTA
 * (float64) reaches the same optimum on random and ill-conditioned D, is monotone in the objective
 * at every check with restart, and needs fewer iterations with restart than without; the KL
 * variant decreases the KL divergence at every sample and reaches its fixed point.
 *
 * Tolerances: KKT on the active-set solution: gradient g = Dᵀ(D h − x) ≥ −1e-9·‖D‖²‖h‖∞-scale,
 * |g_c| ≤ 1e-9·scale where h_c > 0. FISTA vs active set: objective within 1e-9 relative (tol 1e-10).
 */
import { describe, expect, test } from 'vitest';
import { fitNNLS, fistaChunk, gramAndLipschitz, nnlsActiveSetCpu, nnlsFistaCpu, projectChunk } from '../../src/modes/nnls.js';
import { klDivergence } from '../../src/modes/common.js';
import type { Matrix64 } from '../../src/types.js';
import { illConditioned, mat, product, rng } from './fixtures.js';

function kktViolation(X: Matrix64, D: Matrix64, H: Matrix64): number {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  let worst = 0;
  for (let j = 0; j < p; j++) {
    let xnorm = 0;
    for (let i = 0; i < n; i++) xnorm += X.data[i * p + j] ** 2;
    const scale = Math.sqrt(xnorm) * Math.sqrt(D.data.reduce((a, v) => a + v * v, 0)) + 1e-300;
    for (let c = 0; c < k; c++) {
      let g = 0;
      for (let i = 0; i < n; i++) {
        let y = 0;
        for (let b = 0; b < k; b++) y += D.data[i * k + b] * H.data[b * p + j];
        g += D.data[i * k + c] * (y - X.data[i * p + j]);
      }
      const h = H.data[c * p + j];
      if (h < 0) worst = Math.max(worst, -h / scale);
      if (h > 0) worst = Math.max(worst, Math.abs(g) / scale);
      else worst = Math.max(worst, -g / scale);
    }
  }
  return worst;
}

function objective(X: Matrix64, D: Matrix64, H: Matrix64): number {
  const R = product(D, H);
  let s = 0;
  for (let i = 0; i < R.data.length; i++) s += (X.data[i] - R.data[i]) ** 2;
  return 0.5 * s;
}

/** Data with some pixels needing zero coefficients (active constraints). */
function problem(D: Matrix64, p: number, seed: number): Matrix64 {
  const r = rng(seed);
  const k = D.cols;
  const H = mat(k, p, () => (r() < 0.3 ? 0 : r()));
  const X = product(D, H);
  for (let i = 0; i < X.data.length; i++) X.data[i] = Math.max(X.data[i] + 0.3 * (r() - 0.5), 0);
  return X;
}

const random = (n: number, k: number, seed: number) => {
  const r = rng(seed);
  return mat(n, k, () => r());
};

describe('fixed-spectra NNLS: CPU reference and FISTA', () => {
  const cases = [
    { name: 'random D', D: random(20, 4, 1), p: 60 },
    { name: 'ill-conditioned D (cond ~1e3)', D: illConditioned(24, 4, 2, 0.97), p: 60 },
  ];
  for (const { name, D, p } of cases) {
    test(`active set satisfies KKT: ${name}`, async () => {
      const X = problem(D, p, 7);
      const { H } = await nnlsActiveSetCpu(X, D);
      expect(kktViolation(X, D, H)).toBeLessThan(1e-9);
    });

    test(`FISTA (tight tol) reaches the active-set optimum: ${name}`, async () => {
      const X = problem(D, p, 8);
      const exact = (await nnlsActiveSetCpu(X, D)).H;
      const r = await nnlsFistaCpu(X, D, { restart: true, tol: 1e-12, maxIter: 200000, checkEvery: 10, chunkPixels: 17, recordObjective: false });
      const f0 = objective(X, D, exact);
      const f1 = objective(X, D, r.H);
      expect((f1 - f0) / f0).toBeLessThan(1e-8);
      expect(f1 - f0).toBeGreaterThan(-1e-9 * f0); // the active set is the optimum
      expect(kktViolation(X, D, r.H)).toBeLessThan(1e-5);
      expect(r.chunkIterations.length).toBe(Math.ceil(p / 17));
    });

    test(`FISTA with restart is monotone at every check and beats plain FISTA: ${name}`, async () => {
      const X = problem(D, p, 9);
      const o = { tol: 1e-8, maxIter: 20000, checkEvery: 10, chunkPixels: p, recordObjective: true };
      const withR = await nnlsFistaCpu(X, D, { ...o, restart: true });
      const without = await nnlsFistaCpu(X, D, { ...o, restart: false });
      const obj = withR.objective![0];
      for (let i = 1; i < obj.length; i++) expect(obj[i], `check ${i}`).toBeLessThanOrEqual(obj[i - 1] + 1e-12 * Math.abs(obj[i - 1]));
      expect(withR.converged).toBe(true);
      expect(withR.chunkIterations[0]).toBeLessThan(without.chunkIterations[0]);
    });
  }

  test('every pixel decreases monotonically with restart (per-pixel function restart)', () => {
    const D = illConditioned(16, 3, 5, 0.99);
    const X = problem(D, 5, 3);
    const { Q, L } = gramAndLipschitz(D);
    const B = projectChunk(X, D, 0, 5);
    let prev = Infinity;
    for (const it of [1, 2, 5, 10, 20, 50, 100, 200]) {
      const r = fistaChunk(Q, L, B, 3, 5, { restart: true, tol: 0, maxIter: it, checkEvery: 1, record: true });
      const f = r.objective.at(-1)!;
      expect(f).toBeLessThanOrEqual(prev + 1e-12 * Math.abs(prev));
      prev = f;
    }
  });

  test('fitNNLS on the CPU: summary, fitted scale kept, FISTA vs active set', async () => {
    const D = random(12, 3, 4);
    const r = rng(5);
    const Htrue = mat(3, 40, () => 5 * r());
    const X = product(D, Htrue);
    const a = await fitNNLS(X, { spectra: D, backend: 'cpu' });
    expect(a.solver).toBe('active-set');
    expect(a.summary.converged).toBe(true);
    expect(a.summary.finalError).toBeLessThan(1e-8);
    for (let i = 0; i < Htrue.data.length; i++) expect(Math.abs(a.H.data[i] - Htrue.data[i])).toBeLessThan(1e-8);
    const f = await fitNNLS(X, { spectra: D, backend: 'cpu', solver: 'fista', tol: 1e-9, maxIter: 50000, chunkPixels: 16 });
    expect(f.summary.chunkIterations).toHaveLength(3);
    expect(f.summary.maxChunkIterations).toBe(Math.max(...f.summary.chunkIterations!));
    for (let i = 0; i < Htrue.data.length; i++) expect(Math.abs(f.H.data[i] - Htrue.data[i])).toBeLessThan(1e-4 * 5);
  });

  test('iteration-limited FISTA is reported (converged false, warning)', async () => {
    const D = illConditioned(16, 4, 6, 0.995);
    const X = problem(D, 20, 2);
    const r = await fitNNLS(X, { spectra: D, backend: 'cpu', solver: 'fista', maxIter: 20, tol: 1e-12 });
    expect(r.summary.converged).toBe(false);
    expect(r.summary.maxChunkIterations).toBe(20);
    expect(r.warnings.join(' ')).toMatch(/raise maxIter/);
  });

  test('KL fixed spectra: KL decreases at every sample and the MU fixed point is reached', async () => {
    const D = random(15, 3, 11);
    const r = rng(12);
    const Ht = mat(3, 30, () => 20 * r());
    const Xc = product(D, Ht);
    const X = mat(15, 30, (i, j) => Math.round(Xc.data[i * 30 + j] + 2 * (r() - 0.5)));
    const res = await fitNNLS(X, { spectra: D, loss: 'kl', backend: 'cpu', tol: 1e-10, maxIter: 5000 });
    expect(res.solver).toBe('mu');
    const e = res.errors!;
    expect(e.length).toBeGreaterThan(3);
    for (let i = 1; i < e.length; i++) expect(e[i], `sample ${i}`).toBeLessThanOrEqual(e[i - 1] * (1 + 1e-12));
    // fixed point: for h_c > 1e-6, Σ_i D_ic x_i / y_i = Σ_i D_ic (relative 1e-3)
    const Y = product(D, res.H);
    for (let j = 0; j < 30; j++) {
      for (let c = 0; c < 3; c++) {
        if (res.H.data[c * 30 + j] < 1e-3) continue;
        let num = 0;
        let den = 0;
        for (let i = 0; i < 15; i++) {
          num += (D.data[i * 3 + c] * X.data[i * 30 + j]) / Y.data[i * 30 + j];
          den += D.data[i * 3 + c];
        }
        expect(Math.abs(num / den - 1)).toBeLessThan(1e-3);
      }
    }
    expect(res.summary.finalError).toBeCloseTo(klDivergence(X, D, res.H), 8);
  });
});

describe('fixed-spectra NNLS: input checks and abort', () => {
  const D = random(10, 3, 1);
  const X = problem(D, 20, 1);
  test('spectra of the wrong length, a zero spectrum, more spectra than channels', async () => {
    await expect(fitNNLS(X, { spectra: random(9, 3, 1), backend: 'cpu' })).rejects.toThrow(
      /spectra have 9 channels \(rows\) but the data has 10: .*channels × components matrix \(10 × k\)/,
    );
    const Z = mat(10, 3, (i, c) => (c === 1 ? 0 : 1 + i));
    await expect(fitNNLS(X, { spectra: Z, backend: 'cpu' })).rejects.toThrow(/spectrum 1 is all zero.*Remove component 1/);
    await expect(fitNNLS(X, { spectra: random(10, 11, 1), backend: 'cpu' })).rejects.toThrow(/11 spectra but the data has only 10 channels/);
    await expect(fitNNLS(X, { spectra: D, backend: 'cpu', loss: 'kl', solver: 'fista' })).rejects.toThrow(/multiplicative updates/);
    await expect(fitNNLS(X, { spectra: D, backend: 'cpu', tol: -1 })).rejects.toThrow(/tol must be a finite number ≥ 0/);
  });
  test('an aborted fit rejects with an AbortError', async () => {
    const c = new AbortController();
    c.abort();
    await expect(fitNNLS(X, { spectra: D, backend: 'cpu', solver: 'fista', signal: c.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
