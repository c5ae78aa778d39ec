/**
 * Every kernel against the float64 CPU reference, on small asymmetric shapes (k = 1..6, odd
 * sizes, a 1-pixel and a 1-row image). Each kernel is isolated by feeding the CPU step the GPU's
 * own inputs: the loss kernel at iteration 0 (start iterate), h_update = H after 1 iteration vs
 * hStep(start), w_num + w_reduce + w_update = W after 1 iteration vs wStep(start W, GPU's H⁺),
 * and the loss kernel at iteration 1 (incl. rel_W, rel_H) on the GPU's own iterate.
 *
 * Tolerances (float32): H and W: |Δ| ≤ 2e-5·|e| + 1e-6·max|e| (sums of ≤ 17 channels of
 * products, a division and, with the simplex, a per-pixel Newton solve to f32 precision);
 * loss parts: relative 2e-5 + absolute 2e-7·mean(X) (f32 partial sums over ≤ 17·153 elements,
 * summed in float64; each element's f32 KL term errs by ~1e-7·X).
 */
import { describe, expect } from 'vitest';
import { computeD, hStep, klConstant, lossParts, relativeChange, wStep } from '../../src/cpu/steps.js';
import { toFloat64 } from '../../src/cpu/solve.js';
import type { Matrix64, Problem } from '../../src/types.js';
import { expectClose } from '../helpers/compare.js';
import { createWebGPUBackend } from '../../src/gpu/index.js';
import { gpuSuite, makeProblem, mostlyZero, variantBackends, type ProblemSpec } from './harness.js';

const gpu = gpuSuite(import.meta.url);

const SHAPES: Omit<ProblemSpec, 'seed'>[] = [
  { n: 7, rows: 5, cols: 9, k: 1 },
  { n: 13, rows: 3, cols: 11, k: 2, m: 4 },
  { n: 9, rows: 1, cols: 17, k: 3 },
  { n: 11, rows: 1, cols: 1, k: 2 },
  { n: 5, rows: 7, cols: 3, k: 4, m: 3 },
  { n: 17, rows: 9, cols: 7, k: 5 },
  { n: 6, rows: 4, cols: 5, k: 6, m: 8 },
];

const SETTINGS: Record<string, Partial<ProblemSpec>> = {
  plain_kl: {},
  notebook: { lambda: 2, mu: 0.05, simplex: 'h' },
  mu_vector_no_simplex: { lambda: 0.5, mu: [0.1, 0.02, 0, 0.3, 0.05, 0.2] },
  simplex_w: { simplex: 'w', lambda: 0.3 },
  frobenius: { loss: 'frobenius' },
  tight_notebook: { lambda: 2, mu: 0.05, simplex: 'h', majorizer: 'tight' },
  tight_mu_vector: { lambda: 0.5, mu: [0.1, 0.02, 0, 0.3, 0.05, 0.2], majorizer: 'tight' },
};

function closeMat(a: Matrix64, e: Matrix64, label: string, rel = 2e-5, absScale = 1e-6): void {
  let emax = 0;
  for (const v of e.data) emax = Math.max(emax, Math.abs(v));
  expectClose(a.data, e.data, { rel, abs: absScale * emax }, label);
}

/** abs: float32 evaluation of each element's KL term errs by ~1e-7 · X, so near-exact fits need it. */
function closeLoss(a: { full: number; kl: number; logReg: number; laplacian: number }, e: typeof a, label: string, meanX: number): void {
  for (const key of ['full', 'kl', 'logReg', 'laplacian'] as const) {
    expectClose([a[key]], [e[key]], { rel: 2e-5, abs: 2e-7 * meanX + 2e-6 * Math.abs(e.full) }, `${label} ${key}`);
  }
}

describe.each(Object.entries(SETTINGS))('kernels vs CPU reference: %s', (name, setting) => {
  for (const shape of SHAPES) {
    const label = `${name} n=${shape.n} ${shape.rows}×${shape.cols} k=${shape.k}${shape.m ? ` m=${shape.m}` : ''}`;
    gpu.test(label, async (backend) => {
      const mu = Array.isArray(setting.mu) ? setting.mu.slice(0, shape.k) : setting.mu;
      const prob: Problem = makeProblem({ ...shape, ...setting, mu, seed: shape.n * 31 + shape.k, maxIter: 1, lossEvery: 1, snapshots: [1] });
      const X = toFloat64(prob.X);
      const res = await backend.solve(prob);
      const C = prob.loss === 'kl' ? klConstant(X) : 0;
      const meanX = X.data.reduce((a, b) => a + b, 0) / X.data.length;
      // loss kernel at the start
      closeLoss(res.losses[0], lossParts(X, computeD(prob.W0, prob.G), prob.H0, prob, C), `${label} loss@0`, meanX);
      // h_update
      const snap = res.snapshots.get(1)!;
      expect(snap, 'snapshot at iteration 1').toBeDefined();
      closeMat(snap.H, hStep(X, computeD(prob.W0, prob.G), prob.H0, prob), `${label} H⁺`);
      if (prob.simplex === 'h') {
        for (let j = 0; j < snap.H.cols; j++) {
          let s = 0;
          for (let c = 0; c < snap.H.rows; c++) s += snap.H.data[c * snap.H.cols + j];
          expect(Math.abs(s - 1), `column ${j} of H⁺ sums to 1`).toBeLessThan(1e-5);
        }
      }
      // w_num + w_reduce + w_update, from the GPU's own H⁺
      closeMat(snap.W, wStep(X, prob.G, prob.W0, snap.H, prob), `${label} W⁺`);
      expect(res.W.data).toEqual(snap.W.data);
      // loss kernel at iteration 1 with ESPM's relative changes
      const s1 = res.losses[1];
      closeLoss(s1, lossParts(X, computeD(snap.W, prob.G), snap.H, prob, C), `${label} loss@1`, meanX);
      expectClose([s1.relW, s1.relH], [relativeChange(snap.W, prob.W0, prob.tol), relativeChange(snap.H, prob.H0, prob.tol)], { rel: 1e-4 }, `${label} rel changes`);
      expect(Number.isNaN(res.losses[0].relW) && Number.isNaN(res.losses[0].relH)).toBe(true);
    });
  }
});

/**
 * The sparse layout of X (backend option sparseX: nonzero counts only, see shaders/h_update.wgsl):
 * the same kernels on the same shapes with about 70 % of X zeroed, plus one all-zero channel
 * filled with a tiny value as ESPM's `remove_zeros_lines` leaves it (stored as the fill sentinel).
 * KL settings only (the Frobenius loss reads every element; the engine refuses sparseX there).
 */
describe.each(Object.entries(SETTINGS).filter(([, s]) => s.loss !== 'frobenius'))('kernels vs CPU reference, sparse X: %s', (name, setting) => {
  for (const shape of SHAPES) {
    const label = `sparse ${name} n=${shape.n} ${shape.rows}×${shape.cols} k=${shape.k}${shape.m ? ` m=${shape.m}` : ''}`;
    gpu.test(label, async (backend) => {
      const mu = Array.isArray(setting.mu) ? setting.mu.slice(0, shape.k) : setting.mu;
      const dense = makeProblem({ ...shape, ...setting, mu, seed: shape.n * 31 + shape.k, maxIter: 1, lossEvery: 1, snapshots: [1] });
      const { rows: n, cols: p } = dense.X;
      const data = Float64Array.from(dense.X.data, (v, j) => ((j * 7919) % 10 < 7 ? 0 : v));
      for (let j = 0; j < p; j++) if ([...Array(n).keys()].every((i) => data[i * p + j] === 0)) data[j] = 1; // no empty pixel
      if (n > 2) data.fill(1e-14, p, 2 * p); // channel 1: ESPM's ε fill of an all-zero line
      const prob: Problem = { ...dense, X: { rows: n, cols: p, data } };
      const sparse = await createWebGPUBackend({ device: backend.device, sparseX: true });
      try {
        const X = toFloat64(prob.X);
        const res = await sparse.solve(prob);
        const C = klConstant(X);
        const meanX = X.data.reduce((a, b) => a + b, 0) / X.data.length;
        closeLoss(res.losses[0], lossParts(X, computeD(prob.W0, prob.G), prob.H0, prob, C), `${label} loss@0`, meanX);
        const snap = res.snapshots.get(1)!;
        closeMat(snap.H, hStep(X, computeD(prob.W0, prob.G), prob.H0, prob), `${label} H⁺`);
        closeMat(snap.W, wStep(X, prob.G, prob.W0, snap.H, prob), `${label} W⁺`);
        closeLoss(res.losses[1], lossParts(X, computeD(snap.W, prob.G), snap.H, prob, C), `${label} loss@1`, meanX);
      } finally {
        sparse.dispose();
      }
    });
  }
});

/**
 * The kernel variants per adapter kind, whichever the adapter at hand picks: the W step
 * (EngineOptions.wUpdate: 'columns', shaders/w_update.wgsl, the software adapters' default;
 * 'workgroup', shaders/w_update_wg.wgsl, the GPUs') and the H step's threads per pixel group
 * (hSplit: 1 on software adapters; 2–16 on GPUs, shaders/h_update.wgsl). Besides the small
 * shapes, channel counts above the workgroup (600 channels, 21 columns of G; 300 without G) so
 * that every strided sum and every round of the reductions runs more than once.
 */
const W_SHAPES: Omit<ProblemSpec, 'seed'>[] = [
  { n: 13, rows: 3, cols: 11, k: 2, m: 4 },
  { n: 17, rows: 9, cols: 7, k: 5 },
  { n: 600, rows: 3, cols: 5, k: 3, m: 21 },
  { n: 300, rows: 4, cols: 3, k: 6 },
];
const VARIANTS = [
  { wUpdate: 'columns', hSplit: 1 },
  { wUpdate: 'workgroup', hSplit: 4 },
  { wUpdate: 'workgroup', hSplit: 16 },
] as const;
describe.each(VARIANTS)('kernel variants wUpdate $wUpdate, hSplit $hSplit vs CPU reference', ({ wUpdate, hSplit }) => {
  const backendFor = variantBackends({ wUpdate, hSplit });
  for (const [name, setting] of Object.entries(SETTINGS)) {
    // KL settings also with X in the sparse layout, whose loss reads Σ_i max(D_ik, ε) from this kernel
    for (const sparseX of setting.loss === 'frobenius' ? [false] : [false, true]) {
      for (const shape of W_SHAPES) {
        const label = `${wUpdate}/${hSplit}${sparseX ? ' sparse' : ''} ${name} n=${shape.n} ${shape.rows}×${shape.cols} k=${shape.k}${shape.m ? ` m=${shape.m}` : ''}`;
        gpu.test(label, async (backend) => {
          const mu = Array.isArray(setting.mu) ? setting.mu.slice(0, shape.k) : setting.mu;
          const dense = makeProblem({ ...shape, ...setting, mu, seed: shape.n * 17 + shape.k, maxIter: 2, lossEvery: 1, snapshots: [1, 2] });
          // 70 % of X zeroed: from this random start the simplex then forces up entries whose update
          // wanted them small, where den + ν cancels; solved for ν itself (before the shift by
          // min den in h_update.wgsl) that put H⁺ 3e-4 off the float64 step at 600 channels
          const prob: Problem = sparseX ? { ...dense, X: mostlyZero(toFloat64(dense.X)) } : dense;
          const own = await backendFor(backend.device, sparseX);
          {
            const X = toFloat64(prob.X);
            const res = await own.solve(prob);
            const stats = (res as unknown as { stats: { wUpdate: string; hSplit: number; xLayout: string } }).stats;
            expect(stats.wUpdate).toBe(wUpdate === 'workgroup' ? 'w_update_wg' : 'w_update');
            expect(stats.hSplit).toBe(hSplit);
            expect(stats.xLayout === 'sparse').toBe(sparseX);
            const C = prob.loss === 'kl' ? klConstant(X) : 0;
            const meanX = X.data.reduce((a, b) => a + b, 0) / X.data.length;
            const s1 = res.snapshots.get(1)!;
            const s2 = res.snapshots.get(2)!;
            closeMat(s1.H, hStep(X, computeD(prob.W0, prob.G), prob.H0, prob), `${label} H⁺ at 1`);
            closeMat(s1.W, wStep(X, prob.G, prob.W0, s1.H, prob), `${label} W⁺ at 1`);
            // iteration 2's H step reads the D and colsum(D) (DᵀD for Frobenius) the W kernel wrote
            closeMat(s2.H, hStep(X, computeD(s1.W, prob.G), s1.H, prob), `${label} H⁺ at 2`, 5e-5);
            closeMat(s2.W, wStep(X, prob.G, s1.W, s2.H, prob), `${label} W⁺ at 2`);
            closeLoss(res.losses[1], lossParts(X, computeD(s1.W, prob.G), s1.H, prob, C), `${label} loss@1`, meanX);
          }
        });
      }
    }
  }
});

describe('kernel variant options', () => {
  for (const [opt, re] of [[{ wUpdate: 'rows' }, /wUpdate must be 'columns' or 'workgroup'/], [{ hSplit: 3 }, /hSplit must be a power of two from 1 to 64/], [{ hSplit: 128 }, /hSplit must be a power of two/]] as const) {
    gpu.test(`${JSON.stringify(opt)} is refused`, async (backend) => {
      const bad = await createWebGPUBackend({ device: backend.device, ...(opt as object) });
      try {
        await expect(bad.solve(makeProblem({ n: 5, rows: 2, cols: 3, k: 2, seed: 1, maxIter: 1 }))).rejects.toThrow(re);
      } finally {
        bad.dispose();
      }
    });
  }
});
