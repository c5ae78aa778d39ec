/**
 * The tight Laplacian majoriser (`majorizer: 'tight'`, src/cpu/steps.ts `hStepTight`): an MM
 * step, so it must never increase the loss; it shares ESPM's fixed points; it needs fewer
 * iterations; its per-entry root and simplex solve are exact.
 */
import { describe, expect, test } from 'vitest';
import { quadraticRoot, simplexQuadratic } from '../src/cpu/simplex.js';
import { computeD, hStep } from '../src/cpu/steps.js';
import { solveCpu, toFloat64 } from '../src/cpu/solve.js';
import { fitSmoothNMF, prepareProblem } from '../src/estimator.js';
import type { SmoothNMFOptions } from '../src/options.js';
import { Random } from '../src/random.js';
import { makeSyntheticDataset } from '../src/synth.js';
import { EPSILON } from '../src/types.js';

const data = makeSyntheticDataset({ rows: 12, cols: 9, channels: 40, k: 3, gPeaks: 8, countsPerPixel: 80, seed: 3 });
const base: SmoothNMFOptions = {
  components: 3, G: data.G, shape: data.shape, maxIter: 80, noStop: true, lossEvery: 1, backend: 'cpu', init: 'random', seed: 2, majorizer: 'tight',
};

function expectMonotone(losses: { iteration: number; full: number }[], label: string): void {
  for (let i = 1; i < losses.length; i++) {
    const prev = losses[i - 1].full;
    const cur = losses[i].full;
    if (!(cur <= prev + 1e-12 * Math.abs(prev))) expect.fail(`${label}: loss rose from ${prev} to ${cur} at iteration ${losses[i].iteration}`);
  }
}

describe("majorizer 'tight'", () => {
  const settings: [string, Partial<SmoothNMFOptions>][] = [
    ['λ, μ and the simplex', { lambda: 4, mu: 0.1, simplex: 'h' }],
    ['large λ, no simplex, μ per component', { lambda: 30, mu: [0.2, 0, 0.05] }],
    ['λ without μ, no G', { lambda: 2, G: undefined }],
  ];
  for (const [label, o] of settings) {
    test(`never increases the loss: ${label}`, async () => {
      const r = await fitSmoothNMF(data.X, { ...base, ...o });
      expectMonotone(r.losses, label);
      expect(r.losses[80].full).toBeLessThan(r.losses[0].full);
    });
  }

  test('never increases the loss on a 1-row and a 1-pixel image', async () => {
    const one = makeSyntheticDataset({ rows: 1, cols: 23, channels: 30, k: 2, gPeaks: 6, countsPerPixel: 50, seed: 8 });
    const r = await fitSmoothNMF(one.X, { ...base, components: 2, G: one.G, shape: one.shape, lambda: 5, simplex: 'h' });
    expectMonotone(r.losses, '1 row');
    const px = makeSyntheticDataset({ rows: 1, cols: 1, channels: 30, k: 1, gPeaks: 6, countsPerPixel: 50, seed: 9 });
    const r1 = await fitSmoothNMF(px.X, { ...base, components: 1, G: px.G, shape: px.shape, lambda: 5, mu: 0.1 });
    expectMonotone(r1.losses, '1 × 1 (no neighbours: q = 0)');
  });

  test('λ = 0: identical to the ESPM step', async () => {
    const a = await fitSmoothNMF(data.X, { ...base, mu: 0.1, simplex: 'h', maxIter: 20 });
    const b = await fitSmoothNMF(data.X, { ...base, mu: 0.1, simplex: 'h', maxIter: 20, majorizer: 'espm' });
    expect(a.H.data).toEqual(b.H.data);
    expect(a.W.data).toEqual(b.W.data);
  });

  test("a converged 'tight' fit has ESPM's loss and is a fixed point of ESPM's step", async () => {
    const o: SmoothNMFOptions = { ...base, init: 'nndsvda', lambda: 4, mu: 0.1, simplex: 'h', maxIter: 5000, noStop: false, tol: 1e-9, lossEvery: 10 };
    const { problem } = prepareProblem(data.X, o);
    const tight = await solveCpu(problem);
    const espm = await solveCpu({ ...problem, majorizer: 'espm' });
    expect(tight.stopReason).toBe('converged_loss');
    expect(espm.stopReason).toBe('converged_loss');
    const [lt, le] = [tight.losses.at(-1)!.full, espm.losses.at(-1)!.full];
    expect(Math.abs(lt - le) / Math.abs(le)).toBeLessThan(1e-6);
    // ESPM's step from the tight solution barely moves it.
    const X = toFloat64(problem.X);
    const H1 = hStep(X, computeD(tight.W, problem.G), tight.H, { ...problem, majorizer: 'espm' });
    let worst = 0;
    for (let j = 0; j < H1.data.length; j++) worst = Math.max(worst, Math.abs(H1.data[j] - tight.H.data[j]));
    expect(worst).toBeLessThan(1e-4);
  });

  test("reaches the loss at which ESPM's steps converge in under a third of the iterations (smooth maps)", async () => {
    const d = makeSyntheticDataset({ rows: 24, cols: 24, channels: 80, k: 3, gPeaks: 10, countsPerPixel: 100, seed: 2 });
    const o: SmoothNMFOptions = { ...base, G: d.G, shape: d.shape, normalize: true, init: 'nndsvda', lambda: 4, mu: 0.1, simplex: 'h', maxIter: 700, lossEvery: 10 };
    const { problem } = prepareProblem(d.X, o);
    const espm = await solveCpu({ ...problem, majorizer: 'espm' });
    // ESPM converged: first relative loss change per 10 iterations < 1e-6 (issue 5's rule).
    const L = espm.losses;
    const conv = L.find((s, i) => i > 0 && Math.abs(L[i - 1].full - s.full) / Math.abs(s.full) < 1e-6);
    expect(conv, 'ESPM converges within 700 iterations').toBeDefined();
    const tight = await solveCpu({ ...problem, maxIter: Math.ceil(conv!.iteration / 3) });
    const reach = tight.losses.find((s) => s.full <= conv!.full);
    expect(reach, `tight reaches ${conv!.full} (ESPM at iteration ${conv!.iteration}) within a third`).toBeDefined();
  });

  test("refused with simplexSolver 'espm' (that solver reproduces ESPM's iterates)", async () => {
    await expect(fitSmoothNMF(data.X, { ...base, lambda: 1, simplex: 'h', simplexSolver: 'espm' })).rejects.toThrow(/simplexSolver 'espm'.*majorizer/);
    await expect(fitSmoothNMF(data.X, { ...base, majorizer: 'loose' as never })).rejects.toThrow(/majorizer must be one of 'espm', 'tight'/);
  });
});

describe('quadraticRoot and simplexQuadratic', () => {
  test('the root solves q h² + (b+ν) h − a = 0 to rounding, including b + ν < 0 and q → 0', () => {
    const rnd = new Random(5);
    for (let t = 0; t < 2000; t++) {
      const a = rnd.uniform() * 10 ** (4 * rnd.uniform() - 2);
      const q = t % 7 === 0 ? 0 : 10 ** (8 * rnd.uniform() - 6);
      const b = (rnd.uniform() - 0.3) * 10 ** (4 * rnd.uniform() - 1);
      const nu = q === 0 ? Math.abs(b) + 0.1 : 0;
      const { h } = quadraticRoot(a, b, q, nu);
      expect(h).toBeGreaterThan(0);
      const resid = q * h * h + (b + nu) * h - a;
      expect(Math.abs(resid)).toBeLessThanOrEqual(1e-12 * (q * h * h + Math.abs(b + nu) * h + a));
    }
  });

  test('columns sum to 1 and ν matches a plain bisection', () => {
    const rnd = new Random(11);
    const rows = 4;
    const cols = 300;
    const a = Float64Array.from({ length: rows * cols }, (_, i) => (i % 9 === 0 ? 0 : rnd.uniform() * 5));
    const b = Float64Array.from({ length: rows * cols }, () => 0.2 + rnd.uniform() * 3);
    const q = Float64Array.from({ length: rows * cols }, (_, i) => (i % 5 === 0 ? 0 : rnd.uniform() * 40));
    const nu = simplexQuadratic(a, b, q, rows, cols, 1e-12);
    const sum = (j: number, v: number) => {
      let s = 0;
      for (let i = 0; i < rows; i++) s += Math.max(quadraticRoot(a[i * cols + j], b[i * cols + j], q[i * cols + j], v).h, EPSILON);
      return s;
    };
    for (let j = 0; j < cols; j++) {
      expect(Math.abs(sum(j, nu[j]) - 1)).toBeLessThan(1e-11);
      let lo = -1e6;
      let hi = 1e6;
      for (let it = 0; it < 200; it++) {
        const mid = (lo + hi) / 2;
        if (sum(j, mid) > 1) lo = mid;
        else hi = mid;
      }
      expect(Math.abs(nu[j] - (lo + hi) / 2)).toBeLessThan(1e-8 * Math.max(1, Math.abs(nu[j])));
    }
  });
});
