/**
 * Extrapolation on the GPU (shaders/h_extrapolate.wgsl, shaders/lib/w_extrapolate.wgsl in both W
 * kernels, the plain/extrapolated bind groups and the H copy at sampled iterations in
 * src/gpu/solve.ts) against the float64 reference loop (src/cpu/solve.ts).
 *
 * - Three iterations (two extrapolated, the last plain because it is the last): the final iterate
 *   against the CPU's, on the settings extrapolation takes, dense and sparse X, both W kernels.
 *   Iteration 2 starts from the extrapolated pair, so a wrong Y, D or Wprev shows there.
 * - 23 iterations, loss sampled every 10: every sample against the CPU's (the iterations before
 *   each sample are plain, and the extrapolation resumes after it).
 * - A batch of two agrees with the single fits; problems that disagree on β are refused.
 * Tolerances: those of test/gpu/kernels.test.ts at two iterations (5e-5 relative on H), loss
 * samples relative 2e-5.
 */
import { describe, expect } from 'vitest';
import { solveCpu, toFloat64 } from '../../src/cpu/solve.js';
import type { Matrix64, Problem } from '../../src/types.js';
import { expectClose } from '../helpers/compare.js';
import { gpuSuite, makeProblem, mostlyZero, variantBackends, type ProblemSpec } from './harness.js';

const gpu = gpuSuite(import.meta.url);

const SETTINGS: Record<string, Partial<ProblemSpec>> = {
  plain_kl: {},
  tight_notebook: { lambda: 2, mu: 0.05, simplex: 'h', majorizer: 'tight' },
  tight_mu_vector: { lambda: 0.5, mu: [0.1, 0.02, 0, 0.3, 0.05, 0.2], majorizer: 'tight' },
  simplex_h_no_lambda: { mu: 0.1, simplex: 'h' },
  frobenius: { loss: 'frobenius' },
};
// one k, so each variant compiles one set of pipelines per layout (software compiles are slow)
const SHAPES: Omit<ProblemSpec, 'seed'>[] = [
  { n: 13, rows: 3, cols: 11, k: 3, m: 4 },
  { n: 17, rows: 9, cols: 7, k: 3 },
  { n: 300, rows: 4, cols: 3, k: 3, m: 21 },
];
const VARIANTS = [
  { wUpdate: 'columns', hSplit: 1 },
  { wUpdate: 'workgroup', hSplit: 4 },
] as const;
const BETA = 0.7;

function closeMat(a: Matrix64, e: Matrix64, label: string, rel: number): void {
  let emax = 0;
  for (const v of e.data) emax = Math.max(emax, Math.abs(v));
  expectClose(a.data, e.data, { rel, abs: 1e-6 * emax }, label);
}

const problemFor = (setting: Partial<ProblemSpec>, shape: Omit<ProblemSpec, 'seed'>, sparseX: boolean, extra: Partial<ProblemSpec>): Problem => {
  const mu = Array.isArray(setting.mu) ? setting.mu.slice(0, shape.k) : setting.mu;
  const dense = makeProblem({ ...shape, ...setting, mu, seed: shape.n * 13 + shape.k, noStop: true, ...extra });
  return { ...dense, ...(sparseX ? { X: mostlyZero(toFloat64(dense.X)) } : {}), extrapolation: BETA };
};

describe.each(VARIANTS)('extrapolation, wUpdate $wUpdate, hSplit $hSplit, vs CPU reference', ({ wUpdate, hSplit }) => {
  const backendFor = variantBackends({ wUpdate, hSplit });
  for (const [name, setting] of Object.entries(SETTINGS)) {
    for (const sparseX of setting.loss === 'frobenius' ? [false] : [false, true]) {
      for (const shape of SHAPES) {
        const label = `${wUpdate}/${hSplit}${sparseX ? ' sparse' : ''} ${name} n=${shape.n} ${shape.rows}×${shape.cols} k=${shape.k}${shape.m ? ` m=${shape.m}` : ''}`;
        gpu.test(`3 iterations: ${label}`, async (backend) => {
          const prob = problemFor(setting, shape, sparseX, { maxIter: 3, lossEvery: 10 });
          const own = await backendFor(backend.device, sparseX);
          const g = await own.solve(prob);
          const c = await solveCpu(prob);
          expect(g.nIter).toBe(3);
          closeMat(g.H, c.H, `${label} H at 3`, 5e-5);
          closeMat(g.W, c.W, `${label} W at 3`, 5e-5);
        });
      }
    }
  }
  gpu.test(`23 iterations, samples at 0, 10, 20, 23 (${wUpdate}/${hSplit})`, async (backend) => {
    const prob = problemFor(SETTINGS.tight_notebook, { n: 40, rows: 9, cols: 11, k: 3, m: 6 }, false, { maxIter: 23, lossEvery: 10 });
    const own = await backendFor(backend.device, false);
    const g = await own.solve(prob);
    const c = await solveCpu(prob);
    expect(g.losses.map((l) => l.iteration)).toEqual([0, 10, 20, 23]);
    expectClose(g.losses.map((l) => l.full), c.losses.map((l) => l.full), { rel: 2e-5, abs: 0 }, 'loss samples');
    closeMat(g.H, c.H, 'H at 23', 2e-4);
  });
});

describe('extrapolation in a batch', () => {
  gpu.test('a batch of two equals the single fits', async (backend) => {
    const shape = { n: 17, rows: 6, cols: 7, k: 3, m: 5 };
    const a = problemFor(SETTINGS.tight_notebook, shape, false, { maxIter: 14, lossEvery: 5 });
    const b = { ...problemFor({ ...SETTINGS.tight_notebook, lambda: 0.5 }, shape, false, { maxIter: 14, lossEvery: 5, startSeed: 7 }), X: a.X, G: a.G };
    const [ga, gb] = await backend.solveBatch([a, b]);
    for (const [r, p, label] of [[ga, a, 'a'], [gb, b, 'b']] as const) {
      const c = await solveCpu(p);
      closeMat(r.H, c.H, `batch ${label} H`, 1e-4);
      closeMat(r.W, c.W, `batch ${label} W`, 1e-4);
    }
  });
  gpu.test('problems that disagree on β, or on lossEvery with β > 0, are refused', async (backend) => {
    const a = problemFor({}, { n: 9, rows: 3, cols: 4, k: 3 }, false, { maxIter: 3 });
    await expect(backend.solveBatch([a, { ...a, extrapolation: 0 }])).rejects.toThrow(/must agree on extrapolation/);
    await expect(backend.solveBatch([a, { ...a, lossEvery: 3 }])).rejects.toThrow(/must agree on extrapolation/);
  });
});
