/**
 * Browser variant of test/gpu/fit.test.ts "GPU fit vs ESPM fixtures > <setting>: iterations 1,
 * 10, 200": 200 iterations on the 200 × 10 000 toy take ~100 s per setting on SwiftShader in
 * Chromium (~5 s on lavapipe in Node), so the browser compares the first 10 iterations with
 * ESPM 1.1.3's own iterates instead: W and H after iterations 1 and 10, and the sampled loss
 * parts at iteration 10, with the same tolerances as the Node test. test/browser/plan.ts lists
 * the full test as not run in the browser, naming this file.
 */
import { describe, expect } from 'vitest';
import type { Matrix64, Problem } from '../../../src/types.js';
import { expectClose } from '../../helpers/compare.js';
import { fixturesPresent, loadMatrix, toySetting } from '../../helpers/fixtures.js';
import { createWebGPUBackend } from '../../../src/gpu/index.js';
import { gpuSuite } from '../../gpu/harness.js';

const gpu = gpuSuite(import.meta.url);

const scaled = (A: Matrix64, s: number): Matrix64 => ({ rows: A.rows, cols: A.cols, data: A.data.map((v) => v * s) });

describe.skipIf(!fixturesPresent())('GPU fit vs ESPM fixtures (browser variant)', () => {
  // as in fit.test.ts: the adapter's own kernels, and the GPUs' variants on any adapter
  for (const [name, variant] of [['a_plain_kl', null], ['b_notebook', null], ['a_plain_kl', 'gpu'], ['b_notebook', 'gpu']] as const) {
    gpu.test(`${name}${variant ? ' (GPU kernel variants)' : ''}: iterations 1, 10`, async (shared) => {
      const backend = variant ? await createWebGPUBackend({ device: shared.device, wUpdate: 'workgroup', hSplit: 16 }) : shared;
      const st = toySetting(name);
      const k = 3;
      const problem: Problem = {
        X: scaled(loadMatrix('X.npy'), st.normFactor),
        G: st.useG ? loadMatrix('G.npy') : undefined,
        components: k,
        loss: 'kl',
        lambda: st.lambda,
        mu: new Float64Array(k).fill(st.mu),
        epsilonReg: st.epsilonReg,
        simplex: st.simplex,
        simplexSolver: 'exact',
        simplexTol: 1e-10,
        majorizer: 'espm',
        shape: { rows: 100, cols: 100 },
        W0: loadMatrix(`${name}/W0.npy`),
        H0: loadMatrix(`${name}/H0.npy`),
        maxIter: 10,
        tol: 1e-6,
        lossEvery: 10,
        noStop: true,
        snapshots: [1, 10],
      };
      const res = await backend.solve(problem);
      expect(res.nIter).toBe(10);
      expect(res.stopReason).toBe('max_iter');
      for (const it of [1, 10]) {
        const tag = String(it).padStart(4, '0');
        const snap = res.snapshots.get(it)!;
        const We = loadMatrix(`${name}/W_it${tag}.npy`).data;
        expectClose(snap.W.data, We, { rel: 1e-4, abs: 1e-8 * Math.max(...We) }, `${name} W@${it}`);
        expectClose(snap.H.data, loadMatrix(`${name}/H_it${tag}.npy`).data, { abs: 2e-5 }, `${name} H@${it}`);
      }
      const L = loadMatrix(`${name}/losses.npy`); // 200 × 7, row t−1 = after iteration t
      const sampled = res.losses.filter((x) => x.iteration > 0);
      expect(sampled.map((s) => s.iteration)).toEqual([10]);
      for (const s of sampled) {
        const row = (s.iteration - 1) * 7;
        // 2e-6: as in fit.test.ts (float32 summation order per kernel variant)
        expectClose([s.full, s.kl, s.logReg, s.laplacian], [L.data[row], L.data[row + 1], L.data[row + 2], L.data[row + 3]], { rel: 2e-6, abs: 1e-12 }, `${name} loss@${s.iteration}`);
        expectClose([s.relW, s.relH], [L.data[row + 5], L.data[row + 6]], { rel: 2e-2, abs: 1e-6 }, `${name} rel changes@${s.iteration}`);
      }
      if (variant) backend.dispose();
    }, 120_000);
  }
});
