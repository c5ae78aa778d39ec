/**
 * The analysis modes on WebGPU against their float64 CPU references.
 *
 * Tolerances (float32 on the GPU):
 *  - FISTA NNLS vs the exact active-set solution: objective ½‖X − DH‖² within 1e-4 relative
 *    (random D, tol 1e-6) and 1e-3 (ill-conditioned D, cond ≈ 1e3); KKT residual ≤ 1e-3 scaled.
 *  - restart: the chunk objective at every check ≤ the previous + 1e-5·|f| (float32 sums), and
 *    fewer iterations than plain FISTA on the ill-conditioned D.
 *  - KL map-only MU, 40 iterations from the same start: H within 1e-4 relative + 1e-5·max.
 *  - randomized PCA vs exact: variances within 1e-4 relative, |cos| of loadings ≥ 1 − 1e-4.
 *  - seeded NNMF / fast multislice: spectral angle to the CPU result ≤ 0.5°; maps within 1e-3·max.
 */
import { expect } from 'vitest';
import { fitNNLS, nnlsActiveSetCpu, nnlsKlCpu } from '../../src/modes/nnls.js';
import { fitPCA, pcaPreprocess } from '../../src/modes/pca.js';
import { fitSeededNMF } from '../../src/modes/seeded.js';
import { fitMultislice } from '../../src/modes/stack.js';
import { nnlsFistaGpu, nnlsKlGpu } from '../../src/gpu/modes/nnls.js';
import { pcaRandomizedGpu } from '../../src/gpu/modes/pca.js';
import { spectralAngle } from '../../src/metrics.js';
import type { Matrix64 } from '../../src/types.js';
import { illConditioned, mat, product, resonanceImage, rng } from '../modes/fixtures.js';
import { gpuSuite } from './harness.js';

const gpu = gpuSuite(import.meta.url);

const objective = (X: Matrix64, D: Matrix64, H: Matrix64) => {
  const R = product(D, H);
  let s = 0;
  for (let i = 0; i < R.data.length; i++) s += (X.data[i] - R.data[i]) ** 2;
  return 0.5 * s;
};
function problem(D: Matrix64, p: number, seed: number): Matrix64 {
  const r = rng(seed);
  const H = mat(D.cols, p, () => (r() < 0.3 ? 0 : r()));
  const X = product(D, H);
  for (let i = 0; i < X.data.length; i++) X.data[i] = Math.max(X.data[i] + 0.3 * (r() - 0.5), 0);
  return X;
}
const randomD = (n: number, k: number, seed: number) => {
  const r = rng(seed);
  return mat(n, k, () => r());
};
const col = (A: Matrix64, c: number) => Float64Array.from({ length: A.rows }, (_, i) => A.data[i * A.cols + c]);

const cases = [
  { name: 'random D, k=4, 3 chunks (last partial)', D: randomD(20, 4, 1), p: 300, rel: 1e-4 },
  { name: 'ill-conditioned D, k=4', D: illConditioned(24, 4, 2, 0.97), p: 200, rel: 1e-3 },
  { name: 'k=1', D: randomD(9, 1, 3), p: 70, rel: 1e-4 },
  { name: 'k=7, odd sizes', D: randomD(13, 7, 4), p: 129, rel: 1e-3 },
];
for (const c of cases) {
  gpu.test(`FISTA NNLS vs exact active set: ${c.name}`, async (backend) => {
    const X = problem(c.D, c.p, 5);
    const exact = (await nnlsActiveSetCpu(X, c.D)).H;
    const g = await nnlsFistaGpu(X, c.D, { restart: true, tol: 1e-6, maxIter: 20000, checkEvery: 10, chunkPixels: 128, recordObjective: false }, { device: backend.device });
    expect(g.chunkIterations).toHaveLength(Math.ceil(c.p / 128));
    for (const v of g.H.data) expect(v).toBeGreaterThanOrEqual(0);
    const f0 = objective(X, c.D, exact);
    const f1 = objective(X, c.D, g.H);
    expect((f1 - f0) / f0, `objective gap (iterations ${g.chunkIterations.join(',')})`).toBeLessThan(c.rel);
  });
}

gpu.test('FISTA with restart: monotone at every check, fewer iterations than without (GPU)', async (backend) => {
  const D = illConditioned(24, 4, 2, 0.97);
  const X = problem(D, 256, 9);
  const o = { tol: 1e-5, maxIter: 20000, checkEvery: 10, chunkPixels: 256, recordObjective: true };
  const withR = await nnlsFistaGpu(X, D, { ...o, restart: true }, { device: backend.device });
  const without = await nnlsFistaGpu(X, D, { ...o, restart: false }, { device: backend.device });
  const obj = withR.objective![0];
  for (let i = 1; i < obj.length; i++) expect(obj[i], `check ${i}`).toBeLessThanOrEqual(obj[i - 1] + 1e-5 * Math.abs(obj[i - 1]));
  expect(withR.converged).toBe(true);
  expect(withR.chunkIterations[0]).toBeLessThan(without.chunkIterations[0]);
});

gpu.test('FISTA reports iteration-limited chunks', async (backend) => {
  const D = illConditioned(16, 4, 6, 0.995);
  const X = problem(D, 100, 2);
  const g = await nnlsFistaGpu(X, D, { restart: true, tol: 1e-12, maxIter: 30, checkEvery: 10, chunkPixels: 64, recordObjective: false }, { device: backend.device });
  expect(g.converged).toBe(false);
  expect(g.chunkIterations).toEqual([30, 30]);
});

gpu.test('KL fixed spectra: GPU multiplicative updates = CPU (40 iterations)', async (backend) => {
  const D = randomD(15, 3, 11);
  const r = rng(12);
  const Ht = mat(3, 90, () => 20 * r());
  const Xc = product(D, Ht);
  const X = mat(15, 90, (i, j) => Math.round(Xc.data[i * 90 + j] + 2 * (r() - 0.5)));
  const o = { tol: 0, maxIter: 40, checkEvery: 10, patience: 1 };
  const cpu = await nnlsKlCpu(X, D, o);
  const g = await nnlsKlGpu(X, D, o, { device: backend.device });
  expect(g.iterations).toBe(40);
  const hmax = Math.max(...cpu.H.data);
  for (let i = 0; i < cpu.H.data.length; i++) expect(Math.abs(g.H.data[i] - cpu.H.data[i])).toBeLessThanOrEqual(1e-4 * cpu.H.data[i] + 1e-5 * hmax);
  for (let i = 0; i < cpu.errors.length; i++) expect(Math.abs(g.errors[i] / cpu.errors[i] - 1)).toBeLessThan(1e-3);
});

gpu.test('randomized PCA on the GPU = exact eigendecomposition (up to sign)', async (backend) => {
  const r = rng(3);
  const Dm = mat(14, 3, () => r());
  const sc = [10, 4, 1.5];
  const Hm = mat(3, 300, (c) => sc[c] * r());
  const X = mat(14, 300, (i, j) => 5 + Dm.data[i * 3] * Hm.data[j] + Dm.data[i * 3 + 1] * Hm.data[300 + j] + Dm.data[i * 3 + 2] * Hm.data[600 + j] + 0.05 * r());
  const exact = await fitPCA(X, { components: 3, backend: 'cpu', method: 'exact' });
  const { Z } = pcaPreprocess(X, 'standardize', true);
  const g = await pcaRandomizedGpu(Z, 3, { seed: 0, oversamples: 10, powerIterations: 4, device: backend.device });
  for (let c = 0; c < 3; c++) {
    expect(Math.abs(g.variance[c] / exact.explainedVariance[c] - 1)).toBeLessThan(1e-4);
    const a = col(g.P, c);
    const b = col(exact.loadings, c);
    let ab = 0;
    for (let i = 0; i < 14; i++) ab += a[i] * b[i];
    expect(Math.abs(ab)).toBeGreaterThan(1 - 1e-4);
  }
});

gpu.test('the modes through the API with backend webgpu (seeded NNMF, NNLS, multislice)', async () => {
  const img = resonanceImage({ rows: 12, cols: 12, n: 30, centres: [10, 15, 20], width: 3, noise: 2, seed: 3 });
  const spectra = [10, 15, 20].map((c) => ({ centre: c, width: 3, amplitude: 100 }));
  const o = { components: 3, spectra, maxIter: 60, tol: 0 };
  const cpu = await fitSeededNMF(img.X, { ...o, backend: 'cpu' });
  const g = await fitSeededNMF(img.X, { ...o, backend: 'webgpu' });
  expect(g.summary.backend).toBe('webgpu');
  for (let c = 0; c < 3; c++) expect(spectralAngle(col(g.D, c), col(cpu.D, c))).toBeLessThan(0.5);
  const n1 = await fitNNLS(img.X, { spectra: img.D, backend: 'webgpu', tol: 1e-6 });
  const n0 = await fitNNLS(img.X, { spectra: img.D, backend: 'cpu' });
  expect(n1.solver).toBe('fista');
  expect(n1.summary.backendInfo).toMatch(/^webgpu/);
  expect((n1.summary.finalError - n0.summary.finalError) / n0.summary.finalError).toBeLessThan(1e-4);
  const k1 = await fitNNLS(img.X, { spectra: img.D, loss: 'kl', backend: 'webgpu', tol: 0, maxIter: 30 });
  const k0 = await fitNNLS(img.X, { spectra: img.D, loss: 'kl', backend: 'cpu', tol: 0, maxIter: 30 });
  expect(k1.summary.backend).toBe('webgpu');
  expect(Math.abs(k1.summary.finalError / k0.summary.finalError - 1)).toBeLessThan(1e-3);
  const p1 = await fitPCA(img.X, { components: 2, backend: 'webgpu' });
  const p0 = await fitPCA(img.X, { components: 2, backend: 'cpu', method: 'exact' });
  expect(p1.method).toBe('randomized');
  for (let c = 0; c < 2; c++) expect(Math.abs(p1.explainedVariance[c] / p0.explainedVariance[c] - 1)).toBeLessThan(1e-3);
  const slices = [3, 4, 5].map((seed) => resonanceImage({ rows: 8, cols: 8, n: 30, centres: [10, 15, 20], width: 3, noise: 2, seed }));
  const ms = await fitMultislice(slices.map((s) => ({ X: s.X, shape: s.shape })), { seeded: { ...o, backend: 'webgpu' }, nnls: { tol: 1e-6 } });
  for (const z of [1, 2]) {
    const ref = await fitNNLS(slices[z].X, { spectra: ms.D, backend: 'cpu' });
    const hmax = Math.max(...ref.H.data);
    for (let i = 0; i < ref.H.data.length; i++) expect(Math.abs(ms.maps[z].data[i] - ref.H.data[i])).toBeLessThan(1e-3 * hmax);
  }
}, 300_000);
