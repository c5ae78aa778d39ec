/**
 * ESPM conformance, the toy notebook setting (λ = 2, μ = 0.05, ε_reg = 1, G, simplex on H,
 * normalize) from ESPM's own start. Tolerances from ../shared/docs/espm-smoothnmf.md §8:
 * - ESPM-compatible lock-step bisection, float64: 1e-9 relative at iterations 1 and 10; at 200
 *   rounding flips bisection decisions, measured envelope H ≤ 3.1e-5 relative.
 * - exact per-pixel ν: W relative 1e-4, H absolute 2e-5 at 1, 10, 200; full loss relative 1e-6.
 */
import { describe, expect, test } from 'vitest';
import { fitSmoothNMF } from '../src/estimator.js';
import type { FitResult } from '../src/options.js';
import type { SimplexSolver } from '../src/types.js';
import { expectClose } from './helpers/compare.js';
import { loadMatrix } from './helpers/fixtures.js';

const run = (solver: SimplexSolver): Promise<FitResult> =>
  fitSmoothNMF(loadMatrix('X.npy'), {
    components: 3,
    G: loadMatrix('G.npy'),
    shape: { rows: 100, cols: 100 },
    lambda: 2,
    mu: 0.05,
    epsilonReg: 1,
    simplex: 'h',
    simplexSolver: solver,
    normalize: true,
    W0: loadMatrix('b_notebook/W0.npy'),
    H0: loadMatrix('b_notebook/H0.npy'),
    maxIter: 200,
    noStop: true,
    lossEvery: 10,
    tol: 1e-6,
    snapshots: [1, 10, 200],
    backend: 'cpu',
  });

const snap = (r: FitResult, it: number) => r.snapshots.get(it)!;
const ref = (what: 'W' | 'H', it: number) => loadMatrix(`b_notebook/${what}_it${String(it).padStart(4, '0')}.npy`).data;

/** losses.npy rows are iterations 1..200; ours are sampled at 0, 10, 20, ... */
function expectLossHistory(r: FitResult, rel: number): void {
  const L = loadMatrix('b_notebook/losses.npy');
  const sampled = r.losses.filter((s) => s.iteration > 0);
  expect(sampled.map((s) => s.iteration)).toEqual(Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
  for (const s of sampled) {
    const row = L.data.subarray((s.iteration - 1) * L.cols, s.iteration * L.cols);
    expectClose([s.full, s.kl, s.logReg, s.laplacian], [row[0], row[1], row[2], row[3]], { rel }, `loss parts at ${s.iteration}`);
  }
}

describe('ESPM toy, b_notebook', () => {
  test('ESPM-compatible bisection: iterates, losses and returned factors', async () => {
    const r = await run('espm');
    for (const it of [1, 10]) {
      expectClose(snap(r, it).W.data, ref('W', it), { rel: 1e-9 }, `W at ${it}`);
      expectClose(snap(r, it).H.data, ref('H', it), { rel: 1e-9 }, `H at ${it}`);
    }
    expectClose(snap(r, 200).W.data, ref('W', 200), { rel: 1e-6 }, 'W at 200');
    expectClose(snap(r, 200).H.data, ref('H', 200), { rel: 5e-5 }, 'H at 200');
    expectLossHistory(r, 1e-6);
    // Simplex on: no rescaling; W is divided by the normalisation factor.
    expectClose(r.W.data, loadMatrix('b_notebook/W.npy').data, { rel: 1e-6 }, 'final W');
    expectClose(r.H.data, loadMatrix('b_notebook/H.npy').data, { rel: 5e-5 }, 'final H');
    expectClose(r.D.data, loadMatrix('b_notebook/GW.npy').data, { rel: 1e-6 }, 'final GW');
  });

  test('exact per-pixel ν (the default): within the float32/exact tolerances', async () => {
    const r = await run('exact');
    for (const it of [1, 10, 200]) {
      expectClose(snap(r, it).W.data, ref('W', it), { rel: 1e-4 }, `W at ${it}`);
      expectClose(snap(r, it).H.data, ref('H', it), { abs: 2e-5 }, `H at ${it}`);
      // Exact ν puts every pixel on the simplex to 1e-10 (ESPM's bisection: ± 6e-6).
      const H = snap(r, it).H.data;
      for (let j = 0; j < 10000; j++) {
        const sum = H[j] + H[10000 + j] + H[20000 + j];
        if (Math.abs(sum - 1) > 1e-9) expect.fail(`pixel ${j} sums to ${sum} at iteration ${it}`);
      }
    }
    expectLossHistory(r, 1e-6);
  });
});
