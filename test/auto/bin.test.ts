/** Binning, the bin choice, count splitting and upsampling: fast unit tests on known inputs. */
import { describe, expect, test } from 'vitest';
import { binCube, binningRisk, chooseBin, deviancePerPixel, heldOutCounts, refineValues, rescaleWeights, thinCounts, upsampleMaps } from '../../src/auto/index.js';
import { Random } from '../../src/random.js';
import { WebnmfError } from '../../src/errors.js';
import { makeSyntheticDataset } from '../../src/synth.js';
import type { Matrix64 } from '../../src/types.js';

const mat = (rows: number, cols: number, f: (i: number, j: number) => number): Matrix64 => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
};

describe('binCube', () => {
  test('sums b × b blocks, crops partial edge blocks, groups channels and G', () => {
    // 3 channels, 5 × 7 image, value = 1000·channel + pixel index.
    const shape = { rows: 5, cols: 7 };
    const X = mat(3, 35, (i, j) => 1000 * i + j);
    const G = mat(3, 2, (i, j) => i + 10 * j);
    const c = binCube(X, shape, 2, 2, G);
    expect(c.shape).toEqual({ rows: 2, cols: 3 });
    expect(c.croppedRows).toBe(1);
    expect(c.croppedCols).toBe(1);
    expect(c.X.rows).toBe(2); // channels {0,1} and {2}
    // binned pixel (1, 2): full rows 2..3, cols 4..5 → pixels 18, 19, 25, 26.
    const pix = [18, 19, 25, 26];
    const s = (ch: number) => pix.reduce((a, p) => a + 1000 * ch + p, 0);
    expect(c.X.data[0 * 6 + 1 * 3 + 2]).toBe(s(0) + s(1));
    expect(c.X.data[1 * 6 + 1 * 3 + 2]).toBe(s(2));
    expect(Array.from(c.G!.data)).toEqual([0 + 1, 10 + 11, 2, 12]);
    // Total counts of the kept region are preserved.
    let kept = 0;
    for (let ch = 0; ch < 3; ch++) for (let r = 0; r < 4; r++) for (let col = 0; col < 6; col++) kept += X.data[ch * 35 + r * 7 + col];
    expect(c.X.data.reduce((a, b) => a + b, 0)).toBe(kept);
  });

  test('rejects a factor larger than the image', () => {
    expect(() => binCube(mat(1, 4, () => 1), { rows: 2, cols: 2 }, 3)).toThrow(WebnmfError);
  });
});

describe('chooseBin', () => {
  test('the risk estimate is unbiased: it matches the true risk computed from the noiseless cube', () => {
    const ds = makeSyntheticDataset({ rows: 48, cols: 48, channels: 64, countsPerPixel: 60, seed: 3, gPeaks: 8 });
    // True risk per element of the block mean on 16 bands, from Xdot: bias² + variance (Var = mean/b²).
    const q = 16;
    const n = 64;
    const p = 48 * 48;
    const bands = (M: Matrix64) => {
      const out = new Float64Array(q * p);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) out[Math.floor((i * q) / n) * p + j] += M.data[i * p + j];
      return out;
    };
    const Ym = bands(ds.Xdot);
    const curve = chooseBin(ds.X, ds.shape, undefined).curve;
    for (const { b, risk } of curve) {
      const R = Math.floor(48 / b);
      let truth = 0;
      for (let t = 0; t < q; t++) {
        for (let r = 0; r < R * b; r++) {
          for (let c = 0; c < R * b; c++) {
            let mean = 0;
            const r0 = Math.floor(r / b) * b;
            const c0 = Math.floor(c / b) * b;
            for (let dr = 0; dr < b; dr++) for (let dc = 0; dc < b; dc++) mean += Ym[t * p + (r0 + dr) * 48 + c0 + dc];
            mean /= b * b;
            const m = Ym[t * p + r * 48 + c];
            truth += (mean - m) ** 2 + mean / (b * b) + (b === 1 ? 0 : 0);
          }
        }
      }
      truth /= q * R * b * R * b;
      // b = 1: the estimate is X itself, risk = E X = mean; the general formula covers it.
      expect(Math.abs(risk - truth) / truth, `b = ${b}: estimate ${risk}, truth ${truth}`).toBeLessThan(0.1);
    }
    const best = curve.reduce((a, c) => (c.risk < a.risk ? c : a));
    expect(best.b).toBeGreaterThan(1);
  });

  test('b = 1 estimate equals the mean count (variance of the raw data)', () => {
    const Y = Float64Array.from([3, 0, 5, 2]);
    expect(binningRisk(Y, 1, { rows: 2, cols: 2 }, 1)).toBeCloseTo(2.5, 12);
  });

  test('too small to bin: b = 1 with a message; a given factor is checked', () => {
    const X = mat(4, 10 * 12, () => 1);
    const c = chooseBin(X, { rows: 10, cols: 12 }, undefined);
    expect(c.b).toBe(1);
    expect(c.reason).toBe('too-small');
    expect(c.message).toMatch(/too small to bin/);
    expect(chooseBin(X, { rows: 10, cols: 12 }, 3).b).toBe(3);
    expect(() => chooseBin(X, { rows: 10, cols: 12 }, 6)).toThrow(/--bin 6 leaves fewer than 2 binned pixels/);
  });
});

describe('count splitting', () => {
  test('A + B = X, A ~ Binomial(X, 1/2) in mean, and non-integer data is refused', () => {
    const X = mat(2, 2000, (i, j) => (j % 7) * (i + 1));
    const { A, B } = thinCounts(X, 0.5, 7);
    let sa = 0;
    let sx = 0;
    for (let j = 0; j < X.data.length; j++) {
      expect(A.data[j] + B.data[j]).toBe(X.data[j]);
      expect(A.data[j]).toBeGreaterThanOrEqual(0);
      sa += A.data[j];
      sx += X.data[j];
    }
    // Var(ΣA) = ΣX/4: 6 standard deviations.
    expect(Math.abs(sa - sx / 2)).toBeLessThan(6 * Math.sqrt(sx / 4));
    expect(() => thinCounts(mat(1, 2, () => 0.5), 0.5, 1)).toThrow(/needs raw integer counts/);
  });

  test('deviance is 0 at a perfect prediction and positive elsewhere', () => {
    const D = mat(2, 1, () => 2);
    const H = mat(1, 3, () => 1);
    const Y = mat(2, 3, () => 4);
    expect(Array.from(deviancePerPixel(Y, D, H, 2))).toEqual([0, 0, 0]);
    expect(deviancePerPixel(Y, D, H, 1)[0]).toBeGreaterThan(0);
  });

  test('deviance over the held-out nonzeros equals the element-by-element sum', () => {
    // the oracle: every element's term, as first written
    const dense = (Y: Matrix64, D: Matrix64, H: Matrix64, scale: number) => {
      const out = new Float64Array(Y.cols);
      for (let i = 0; i < Y.rows; i++) {
        for (let j = 0; j < Y.cols; j++) {
          let m = 0;
          for (let c = 0; c < D.cols; c++) m += D.data[i * D.cols + c] * H.data[c * Y.cols + j] * scale;
          const y = Y.data[i * Y.cols + j];
          out[j] += (y > 0 ? y * Math.log(y / m) - y : 0) + m;
        }
      }
      return out;
    };
    const rng = new Random(7);
    for (const [n, p, k, zeros] of [[40, 30, 3, 0.9], [25, 17, 4, 0.5], [8, 50, 2, 0]] as const) {
      // a few negative entries too: like zeros, they have no log term
      const Y = mat(n, p, () => (rng.uniform() < zeros ? (rng.uniform() < 0.1 ? -1 : 0) : 1 + Math.floor(rng.uniform() * 20)));
      const D = mat(n, k, () => rng.uniform());
      const H = mat(k, p, () => rng.uniform());
      const want = dense(Y, D, H, 0.3);
      const got = deviancePerPixel(Y, D, H, 0.3);
      const fromList = deviancePerPixel(heldOutCounts(Y), D, H, 0.3);
      for (let j = 0; j < p; j++) {
        expect(Math.abs(got[j] - want[j])).toBeLessThanOrEqual(1e-12 * (Math.abs(want[j]) + 1));
        expect(fromList[j]).toBe(got[j]);
      }
    }
    // a prediction of 0 where counts were held out: not finite (the tuning drops that candidate);
    // 0 predicted where none were: no term
    const Y = mat(2, 2, (i, j) => (i === 0 && j === 0 ? 3 : 0));
    const H = mat(1, 2, (_, j) => (j === 0 ? 0 : 1));
    const dev = deviancePerPixel(Y, mat(2, 1, () => 1), H, 1);
    expect(Number.isFinite(dev[0])).toBe(false);
    expect(dev[1]).toBe(2);
    expect(() => deviancePerPixel(Y, mat(3, 1, () => 1), H, 1)).toThrow(/D: n × k and H: k × p/);
  });
});

describe('upsampleMaps and the rescaling rule', () => {
  test('columns stay on the simplex; constants stay constant; a linear ramp is reproduced inside', () => {
    const R = 4;
    const C = 5;
    const b = 3;
    const Hb = mat(2, R * C, (k, j) => {
      const c = j % C;
      const v = 0.1 + 0.15 * c; // linear in the column index, within [0.1, 0.7]
      return k === 0 ? v : 1 - v;
    });
    const full = { rows: R * b + 2, cols: C * b + 1 }; // with cropped remainders
    const H = upsampleMaps(Hb, { rows: R, cols: C }, b, full, 1e-14);
    const p = full.rows * full.cols;
    for (let j = 0; j < p; j++) expect(H.data[j] + H.data[p + j]).toBeCloseTo(1, 12);
    // Interior column x (full resolution) lies at binned coordinate (x − 1)/3.
    for (const x of [1, 4, 7, 10, 13]) expect(H.data[5 * full.cols + x]).toBeCloseTo(0.1 + 0.15 * ((x - 1) / 3), 12);
    expect(H.data[5 * full.cols + 2]).toBeCloseTo(0.1 + 0.15 * (1 / 3), 12);
    // Edges clamp.
    expect(H.data[0]).toBeCloseTo(0.1, 12);
    expect(H.data[full.cols - 1]).toBeCloseTo(0.7, 12);
  });

  test('λ_full = b^2.5 λ_binned, μ unchanged; b = 1 keeps both', () => {
    expect(rescaleWeights(0.5, 0.1, 4)).toEqual({ lambda: 16, mu: 0.1 });
    expect(rescaleWeights(0.3, 0.2, 1)).toEqual({ lambda: 0.3, mu: 0.2 });
    expect(rescaleWeights(1, 1, 2).lambda).toBeCloseTo(4 * Math.SQRT2, 12);
    expect(rescaleWeights(1, 1, 3).lambda).toBeCloseTo(9 * Math.sqrt(3), 12);
  });
});

describe('refineValues', () => {
  test('log-midpoints to the grid neighbours, never past either end of the grid', () => {
    const close = (a: number[], b: number[]) => {
      expect(a).toHaveLength(b.length);
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
    };
    close(refineValues(0.1, [0, 0.1, 1, 10]), [0.1 / Math.sqrt(10), 0.1, Math.sqrt(0.1)]);
    close(refineValues(1, [0, 0.1, 1, 10]), [Math.sqrt(0.1), 1, Math.sqrt(10)]);
    // The top of the grid: nothing above it (the old rule tried 1·√10 here).
    close(refineValues(1, [0, 0.1, 1]), [Math.sqrt(0.1), 1]);
    close(refineValues(10, [1, 10]), [Math.sqrt(10), 10]);
    // The bottom: the smallest positive value when the grid has no 0 refines only upwards.
    close(refineValues(1, [1, 4]), [1, 2]);
    close(refineValues(0, [0, 0.1, 1]), [0, 0.1 / Math.sqrt(10)]);
    close(refineValues(0, [0]), [0]);
    // Unsorted grids with duplicates are read as sets.
    close(refineValues(4, [16, 1, 4, 4]), [2, 4, 8]);
    for (const grid of [[0, 0.1, 1], [0.5, 2, 8], [3]]) {
      for (const v of grid) for (const r of refineValues(v, grid)) expect(r >= Math.min(...grid) && r <= Math.max(...grid)).toBe(true);
    }
    expect(() => refineValues(2, [0, 1])).toThrow(/not a grid value/);
  });
});
