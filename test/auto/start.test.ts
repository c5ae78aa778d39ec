/**
 * The fine-tune's start (src/cpu/init.ts leastSquaresMaps, src/auto/bin.ts blendedStart): exact on known inputs,
 * and, on a small generator cube with the CPU reference, the blended start reaches the loss of a
 * converged from-scratch fit in fewer full-resolution iterations than the upsampled maps alone.
 */
import { describe, expect, test } from 'vitest';
import { autoFit, blendedStart, leastSquaresMaps } from '../../src/auto/index.js';
import { fitSmoothNMF } from '../../src/estimator.js';
import { makeSyntheticDataset } from '../../src/synth.js';
import type { Matrix64 } from '../../src/types.js';

const mat = (rows: number, cols: number, f: (i: number, j: number) => number): Matrix64 => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
};

describe('leastSquaresMaps', () => {
  // 7 channels, 3 components, 5 pixels; the true maps are on the simplex, pixel 4 is all zero.
  const D = mat(7, 3, (i, q) => 1 + ((i * 5 + q * 3) % 7) + (i === q ? 4 : 0));
  const H = mat(3, 5, (q, j) => (j === 4 ? 0 : [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0, 0.25, 0.75], [1, 0, 0]][j][q]));
  const X = mat(7, 5, (i, j) => [0, 1, 2].reduce((a, q) => a + D.data[i * 3 + q] * H.data[q * 5 + j], 0));

  test('recovers noise-free maps, whatever the scale of X and D; an all-zero pixel gets 1/k', () => {
    const a = leastSquaresMaps(X, D);
    const b = leastSquaresMaps({ ...X, data: X.data.map((v) => 3 * v) }, { ...D, data: D.data.map((v) => 0.25 * v) });
    for (let q = 0; q < 3; q++) {
      for (let j = 0; j < 4; j++) {
        expect(a.data[q * 5 + j]).toBeCloseTo(H.data[q * 5 + j], 10);
        expect(b.data[q * 5 + j]).toBeCloseTo(H.data[q * 5 + j], 10);
      }
      expect(a.data[q * 5 + 4]).toBeCloseTo(1 / 3, 12);
    }
  });

  test('refuses spectra with another channel count', () => {
    expect(() => leastSquaresMaps(X, mat(6, 3, () => 1))).toThrow(/one per channel/);
  });
});

describe('blendedStart', () => {
  test('the column-wise mean of two maps on the simplex, floored and re-normalised', () => {
    const up = mat(2, 3, (q, j) => [[0.5, 0.5], [1, 0], [0.9, 0.1]][j][q]);
    const ls = mat(2, 3, (q, j) => [[0.1, 0.9], [1, 0], [0.3, 0.7]][j][q]);
    const s = blendedStart(up, ls, 1e-3);
    expect(Array.from(s.data).map((v) => +v.toFixed(6))).toEqual([0.3, +(1 / 1.001).toFixed(6), 0.6, 0.7, +(0.001 / 1.001).toFixed(6), 0.4]);
    expect(() => blendedStart(up, mat(2, 4, () => 0.5), 0)).toThrow(/maps of/);
  });
});

describe('the fine-tune from the blended start', () => {
  test('reaches a converged scratch fit’s loss in at most half the iterations the upsampled maps need', async () => {
    const ds = makeSyntheticDataset({ rows: 40, cols: 40, channels: 40, countsPerPixel: 50, seed: 24, gPeaks: 8, k: 3 });
    const common = { components: 3, G: ds.G, shape: ds.shape, backend: 'cpu' as const, lambdas: [0.5], mus: [0.3], refine: false, warmIter: 0, tuneMaxIter: 1, bin: 2, skipFineTune: true };
    const lambda = 0.5 * 2 ** 2.5;
    const base = { components: 3, G: ds.G, shape: ds.shape, lambda, mu: 0.3, simplex: 'h' as const, normalize: true, noStop: true, majorizer: 'tight' as const, backend: 'cpu' as const };
    const scratch = await fitSmoothNMF(ds.X, { ...base, maxIter: 600 });
    const target = scratch.losses.at(-1)!.full * (1 + 1e-6);
    const reach = async (fineStart: 'blend' | 'upsampled') => {
      const pre = await autoFit(ds.X, { ...common, fineStart });
      const W0 = { ...pre.W, data: pre.W.data.map((v) => v * pre.normFactor) };
      const fine = await fitSmoothNMF(ds.X, { ...base, maxIter: 600, init: 'custom', W0, H0: pre.H });
      return fine.losses.find((l) => l.full <= target)?.iteration ?? Infinity;
    };
    const blend = await reach('blend');
    const up = await reach('upsampled');
    expect(blend).toBeLessThan(Infinity);
    expect(blend).toBeLessThanOrEqual(up / 2);
  }, 120_000);
});
