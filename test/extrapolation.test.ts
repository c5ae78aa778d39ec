/**
 * Extrapolation (`extrapolation: β`, src/cpu/steps.ts `extrapolate`, the CPU loop in
 * src/cpu/solve.ts): the geometric extrapolated point, that sampled and kept iterates are plain
 * updates, that it converges to the plain updates' optimum in fewer iterations, and the options
 * it refuses. The GPU kernels are checked against this reference in test/gpu/extrapolation.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { solveCpu } from '../src/cpu/solve.js';
import { computeD, extrapolate, hStep, klConstant, lossParts, wStep } from '../src/cpu/steps.js';
import { fitSmoothNMF, prepareProblem } from '../src/estimator.js';
import type { SmoothNMFOptions } from '../src/options.js';
import { makeSyntheticDataset } from '../src/synth.js';
import { EPSILON, type Matrix64 } from '../src/types.js';

const data = makeSyntheticDataset({ rows: 14, cols: 12, channels: 40, k: 3, gPeaks: 8, countsPerPixel: 60, seed: 5 });
const base: SmoothNMFOptions = {
  components: 3, G: data.G, shape: data.shape, lambda: 2, mu: 0.1, simplex: 'h', majorizer: 'tight', normalize: true, noStop: true, backend: 'cpu',
};
const m64 = (rows: number, cols: number, v: number[]): Matrix64 => ({ rows, cols, data: Float64Array.from(v) });

describe('extrapolate', () => {
  test('A ∘ (A / Aprev)^β, the ratio clamped to [1/4, 4], floored at ε', () => {
    const A = m64(1, 4, [0.5, 2, 1e-3, 1]);
    const P = m64(1, 4, [0.25, 1, 1, 1]);
    const y = extrapolate(A, P, 0.5, false).data;
    expect(y[0]).toBeCloseTo(0.5 * Math.SQRT2, 14);
    expect(y[1]).toBeCloseTo(2 * Math.SQRT2, 14);
    expect(y[2]).toBeCloseTo(1e-3 * 0.5, 14); // ratio 1e-3 clamped to 1/4, then ^0.5
    expect(y[3]).toBe(1);
    expect(extrapolate(m64(1, 1, [EPSILON]), m64(1, 1, [1]), 0.9, false).data[0]).toBe(EPSILON);
    expect(Array.from(extrapolate(A, P, 0, false).data)).toEqual(Array.from(A.data));
  });

  test('unit columns: each pixel of H sums to 1 after the step', () => {
    const H = m64(2, 3, [0.6, 0.2, 0.5, 0.4, 0.8, 0.5]);
    const Hp = m64(2, 3, [0.5, 0.3, 0.5, 0.5, 0.7, 0.5]);
    const y = extrapolate(H, Hp, 0.7, true);
    for (let j = 0; j < 3; j++) expect(y.data[j] + y.data[3 + j]).toBeCloseTo(1, 14);
    expect(y.data[0]).toBeGreaterThan(0.6); // moved further the way it went
    expect(y.data[2]).toBeCloseTo(0.5, 14);
  });

  test('refuses mismatched shapes', () => {
    expect(() => extrapolate(m64(1, 2, [1, 1]), m64(2, 1, [1, 1]), 0.5, false)).toThrow(/extrapolate/);
  });
});

describe('fits with extrapolation', () => {
  test('the sampled iterates are plain updates: each sample is the loss of the iterate it reports', async () => {
    const r = await fitSmoothNMF(data.X, { ...base, extrapolation: 0.7, maxIter: 23, lossEvery: 10, snapshots: [7] });
    const { problem } = prepareProblem(data.X, { ...base, maxIter: 23 });
    const X = problem.X as Matrix64;
    const C = klConstant(X);
    // the raw final iterate (normalised space): W as returned times normFactor
    const W = { rows: r.W.rows, cols: r.W.cols, data: r.W.data.map((v) => v * r.normFactor) };
    const final = lossParts(X, computeD(W, problem.G), r.H, problem, C).full;
    expect(r.losses.map((l) => l.iteration)).toEqual([0, 10, 20, 23]);
    expect(Math.abs(final - r.losses[3].full) / final).toBeLessThan(1e-12);
    // H's pixels stay on the simplex at kept iterates
    const H7 = r.snapshots.get(7)!.H;
    for (let j = 0; j < H7.cols; j++) {
      let s = 0;
      for (let c = 0; c < H7.rows; c++) s += H7.data[c * H7.cols + j];
      expect(Math.abs(s - 1)).toBeLessThan(1e-8);
    }
  });

  test('the iteration after a sample starts from the plain iterate (no extrapolation across it)', async () => {
    const { problem } = prepareProblem(data.X, { ...base, extrapolation: 0.7, maxIter: 11, lossEvery: 10, snapshots: [10, 11] });
    const r = await solveCpu(problem);
    const X = problem.X as Matrix64;
    const s10 = r.snapshots.get(10)!;
    const H11 = hStep(X, computeD(s10.W, problem.G), s10.H, problem);
    const W11 = wStep(X, problem.G, s10.W, H11, problem);
    expect(Array.from(r.snapshots.get(11)!.H.data)).toEqual(Array.from(H11.data));
    expect(Array.from(r.snapshots.get(11)!.W.data)).toEqual(Array.from(W11.data));
  });

  test('extrapolated iterations differ from plain ones (the option acts)', async () => {
    const opts = { ...base, maxIter: 5, lossEvery: 10 };
    const plain = await fitSmoothNMF(data.X, opts);
    const ext = await fitSmoothNMF(data.X, { ...opts, extrapolation: 0.7 });
    let diff = 0;
    for (let i = 0; i < plain.H.data.length; i++) diff = Math.max(diff, Math.abs(plain.H.data[i] - ext.H.data[i]));
    expect(diff).toBeGreaterThan(1e-4);
  });

  for (const [label, o] of [
    ['λ, μ, simplex, tight step', {}],
    ['plain KL, no G', { lambda: 0, mu: 0, simplex: 'none', G: undefined, majorizer: 'espm' }],
    ['Frobenius', { loss: 'frobenius', lambda: 0, mu: 0, simplex: 'none', majorizer: 'espm' }],
  ] as [string, Partial<SmoothNMFOptions>][]) {
    test(`reaches the plain updates' loss in fewer iterations: ${label}`, async () => {
      const opts = { ...base, ...o, maxIter: 400, lossEvery: 10 };
      const plain = await fitSmoothNMF(data.X, opts);
      const ext = await fitSmoothNMF(data.X, { ...opts, extrapolation: 0.7 });
      const target = plain.losses[plain.losses.length - 1].full;
      const reach = (l: { iteration: number; full: number }[]) => l.find((s) => s.full <= target * (1 + 1e-9))?.iteration ?? Infinity;
      // the same optimum (to the plain fit's convergence), reached at most half-way
      expect(ext.losses[ext.losses.length - 1].full).toBeLessThanOrEqual(target * (1 + 1e-9));
      expect(reach(ext.losses)).toBeLessThanOrEqual(200);
    });
  }
});

describe('extrapolation options', () => {
  for (const [o, re] of [
    [{ extrapolation: 1 }, /extrapolation.*from 0 up to/],
    [{ extrapolation: -0.1 }, /extrapolation.*from 0 up to/],
    [{ extrapolation: Number.NaN }, /extrapolation.*from 0 up to/],
    [{ extrapolation: 0.5, simplex: 'w' }, /extrapolation = 0\.5 does not go with simplex 'w'/],
    [{ extrapolation: 0.5, majorizer: 'espm' }, /needs majorizer 'tight'/],
  ] as [Partial<SmoothNMFOptions>, RegExp][]) {
    test(`refuses ${JSON.stringify(o)}`, async () => {
      await expect(fitSmoothNMF(data.X, { ...base, maxIter: 1, ...o })).rejects.toThrow(re);
    });
  }
  test("majorizer 'espm' is fine where λ = 0", async () => {
    const r = await fitSmoothNMF(data.X, { ...base, lambda: 0, majorizer: 'espm', extrapolation: 0.5, maxIter: 3 });
    expect(r.nIter).toBe(3);
  });
});
