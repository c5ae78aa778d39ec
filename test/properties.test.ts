/**
 * Algorithm properties of the CPU reference: monotone objectives, simplex sums, the Laplacian
 * stencil, determinism, and the simplex solvers' own guarantees.
 */
import { describe, expect, test } from 'vitest';
import { laplacianApply, laplacianMatrix } from '../src/cpu/laplacian.js';
import { simplexEspm, simplexExact } from '../src/cpu/simplex.js';
import { fitSmoothNMF } from '../src/estimator.js';
import type { SmoothNMFOptions } from '../src/options.js';
import { Random } from '../src/random.js';
import { makeSyntheticDataset } from '../src/synth.js';
import { EPSILON, type Matrix64 } from '../src/types.js';
import { expectClose } from './helpers/compare.js';

const data = makeSyntheticDataset({ rows: 12, cols: 9, channels: 40, k: 3, gPeaks: 8, countsPerPixel: 80, seed: 3 });
const base: SmoothNMFOptions = { components: 3, maxIter: 60, noStop: true, lossEvery: 1, backend: 'cpu', init: 'random', seed: 1 };

/** Every sampled loss is ≤ the previous one (relative slack for float64 rounding). */
function expectMonotone(losses: { iteration: number; full: number }[], label: string): void {
  for (let i = 1; i < losses.length; i++) {
    const prev = losses[i - 1].full;
    const cur = losses[i].full;
    if (!(cur <= prev + 1e-12 * Math.abs(prev))) {
      expect.fail(`${label}: loss rose from ${prev} to ${cur} at iteration ${losses[i].iteration}`);
    }
  }
}

describe('monotone objectives', () => {
  test('plain KL multiplicative updates never increase the KL loss', async () => {
    const r = await fitSmoothNMF(data.X, base);
    expect(r.losses.length).toBe(61);
    expectMonotone(r.losses, 'plain KL');
    expect(r.losses[60].full).toBeLessThan(r.losses[0].full);
  });

  test('KL with G never increases', async () => {
    const r = await fitSmoothNMF(data.X, { ...base, G: data.G });
    expectMonotone(r.losses, 'KL with G');
  });

  test('Frobenius (Lee–Seung) updates never increase ½‖X − DH‖²', async () => {
    const r = await fitSmoothNMF(data.X, { ...base, loss: 'frobenius', init: 'nndsvda' });
    expectMonotone(r.losses, 'Frobenius');
    expect(r.losses[60].full).toBeLessThan(r.losses[0].full);
  });

  test('the regularised objective with exact simplex ν never increases', async () => {
    const r = await fitSmoothNMF(data.X, {
      ...base,
      G: data.G,
      shape: data.shape,
      lambda: 1,
      mu: [0.05, 0.1, 0.02],
      simplex: 'h',
      normalize: true,
    });
    expectMonotone(r.losses, 'SmoothNMF');
  });
});

describe('simplex constraints', () => {
  test("simplex 'h': every pixel's abundances sum to 1", async () => {
    const r = await fitSmoothNMF(data.X, { ...base, G: data.G, simplex: 'h', maxIter: 20 });
    const { H } = r;
    for (let j = 0; j < H.cols; j++) {
      let s = 0;
      for (let c = 0; c < H.rows; c++) s += H.data[c * H.cols + j];
      if (Math.abs(s - 1) > 1e-9) expect.fail(`pixel ${j} sums to ${s}`);
    }
  });

  test("simplex 'w': every column of W sums to 1 (in the normalised space)", async () => {
    const r = await fitSmoothNMF(data.X, { ...base, G: data.G, simplex: 'w', maxIter: 20, snapshots: [20] });
    const W = r.snapshots.get(20)!.W;
    for (let c = 0; c < W.cols; c++) {
      let s = 0;
      for (let j = 0; j < W.rows; j++) s += W.data[j * W.cols + c];
      expect(Math.abs(s - 1)).toBeLessThan(1e-9);
    }
  });

  const f = (num: Float64Array, den: Float64Array, rows: number, cols: number, j: number, nu: number) => {
    let s = 0;
    for (let i = 0; i < rows; i++) s += Math.max(num[i * cols + j] / (den[i * cols + j] + nu), EPSILON);
    return s - 1;
  };

  test('exact solver reaches |f(ν)| ≤ tol per column; ESPM bisection max |f| ≤ 1e-5', () => {
    const rng = new Random(7);
    for (const rows of [1, 2, 3, 6]) {
      const cols = 257;
      const num = Float64Array.from({ length: rows * cols }, () => 0.01 + rng.uniform() ** 3 * 10);
      const den = Float64Array.from({ length: rows * cols }, () => rng.uniform() * 5);
      if (rows > 1) num[0] = 0; // a zero numerator is allowed beside positive ones
      const exact = simplexExact(num, den, rows, cols, 1e-10);
      const espm = simplexEspm(num, den, rows, cols);
      let worstEspm = 0;
      for (let j = 0; j < cols; j++) {
        expect(Math.abs(f(num, den, rows, cols, j, exact[j]))).toBeLessThanOrEqual(1e-10);
        worstEspm = Math.max(worstEspm, Math.abs(f(num, den, rows, cols, j, espm[j])));
      }
      expect(worstEspm).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('Laplacian stencil', () => {
  const shapes = [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 6 },
    { rows: 5, cols: 1 },
    { rows: 3, cols: 4 },
    { rows: 5, cols: 7 },
  ];
  test.each(shapes)('equals the explicit matrix on $rows × $cols', (shape) => {
    const p = shape.rows * shape.cols;
    const k = 2;
    const rng = new Random(p);
    const H = Float64Array.from({ length: k * p }, () => rng.uniform());
    const L = laplacianMatrix(shape);
    const expected = new Float64Array(k * p);
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) {
        let acc = 0;
        for (let q = 0; q < p; q++) acc += H[c * p + q] * L[q * p + j];
        expected[c * p + j] = acc;
      }
    }
    expectClose(laplacianApply(H, k, shape), expected, { abs: 1e-14 }, `HL on ${shape.rows}×${shape.cols}`);
    // Degrees: 2 at corners, 3 on edges, 4 inside (for shapes with ≥ 2 rows and columns).
    if (shape.rows >= 3 && shape.cols >= 3) {
      expect(L[0]).toBe(2);
      expect(L[1 * p + 1]).toBe(3);
      const inner = shape.cols + 1;
      expect(L[inner * p + inner]).toBe(4);
    }
  });

  test('a constant map has zero Laplacian', () => {
    const shape = { rows: 6, cols: 5 };
    const H = new Float64Array(30).fill(0.37);
    expect(Array.from(laplacianApply(H, 1, shape)).every((v) => v === 0)).toBe(true);
  });
});

describe('determinism', () => {
  const key = (m: Matrix64) => Array.from(m.data).join(',');
  test('the same seed gives bit-identical results; another seed does not', async () => {
    const opts: SmoothNMFOptions = { ...base, maxIter: 15, init: 'random', seed: 11, G: data.G, simplex: 'h' };
    const a = await fitSmoothNMF(data.X, opts);
    const b = await fitSmoothNMF(data.X, opts);
    const c = await fitSmoothNMF(data.X, { ...opts, seed: 12 });
    expect(key(a.H)).toBe(key(b.H));
    expect(key(a.W)).toBe(key(b.W));
    expect(key(a.H)).not.toBe(key(c.H));
  });

  test('float32 and float64 copies of integer counts give the same fit', async () => {
    const X32 = { rows: data.X.rows, cols: data.X.cols, data: Float32Array.from(data.X.data) };
    const a = await fitSmoothNMF(data.X, { ...base, maxIter: 10 });
    const b = await fitSmoothNMF(X32, { ...base, maxIter: 10 });
    expect(key(a.H)).toBe(key(b.H));
  });
});

describe('stopping', () => {
  test('stops early on convergence with a stated reason, and samples every lossEvery iterations', async () => {
    const r = await fitSmoothNMF(data.X, { components: 3, maxIter: 5000, tol: 1e-4, lossEvery: 10, backend: 'cpu' });
    expect(r.nIter).toBeLessThan(5000);
    expect(['converged_rel_change', 'converged_loss']).toContain(r.stopReason);
    expect(r.losses.every((s) => s.iteration % 10 === 0)).toBe(true);
    expect(r.losses.at(-1)!.iteration).toBe(r.nIter);
  });

  test('an aborted fit rejects with an AbortError', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(fitSmoothNMF(data.X, { ...base, signal: ctl.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('progress reports iteration, loss and rate', async () => {
    const seen: number[] = [];
    await fitSmoothNMF(data.X, { ...base, maxIter: 30, lossEvery: 10, onProgress: (p) => seen.push(p.iteration) });
    expect(seen).toEqual([10, 20, 30]);
  });
});
