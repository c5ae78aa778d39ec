/**
 * 4-D stacks: a cube with `slices` is split into per-slice matrices; slices of different shapes
 * are rejected with a message naming both shapes; fast multislice (seeded NNMF on the reference
 * slice, fixed-spectra NNLS on the others, batched in one call) gives the same maps on the other
 * slices as fixed-spectra NNLS run on each slice alone (the NNLS problem is separable per pixel).
 */
import { describe, expect, test } from 'vitest';
import { fitNNLS } from '../../src/modes/nnls.js';
import { fitMultislice, fitPerSlice, toStack } from '../../src/modes/stack.js';
import type { Cube } from '../../src/io/readers/cube.js';
import { mat, resonanceImage } from './fixtures.js';

function cubeOf(slices: ReturnType<typeof resonanceImage>[]): Cube {
  const { rows, cols } = slices[0].shape;
  const n = slices[0].X.rows;
  const p = rows * cols;
  const data = new Float64Array(slices.length * p * n);
  slices.forEach((s, z) => {
    for (let pix = 0; pix < p; pix++) for (let ch = 0; ch < n; ch++) data[(z * p + pix) * n + ch] = s.X.data[ch * p + pix];
  });
  const axis = (name: string, size: number, navigate: boolean) => ({ name, size, offset: 0, scale: 1, units: '', navigate });
  return { data, rows, cols, channels: n, slices: slices.length, signalAxis: axis('channel', n, false), navigationAxes: [], source: 'test' };
}

describe('4-D stacks', () => {
  const slices = [3, 4, 5].map((seed) => resonanceImage({ rows: 10, cols: 12, n: 30, centres: [10, 15, 20], width: 3, noise: 2, seed }));
  const cube = cubeOf(slices);

  test('toStack splits a 4-D cube into channels × pixels slices', () => {
    const st = toStack(cube);
    expect(st.slices).toHaveLength(3);
    expect(st.shape).toEqual({ rows: 10, cols: 12 });
    for (let z = 0; z < 3; z++) expect(Array.from(st.slices[z].data)).toEqual(Array.from(slices[z].X.data));
  });

  test('slices of different shapes: a clear error', () => {
    const a = { X: mat(30, 120, () => 1), shape: { rows: 10, cols: 12 } };
    const b = { X: mat(30, 100, () => 1), shape: { rows: 10, cols: 10 } };
    expect(() => toStack([a, b])).toThrow(/stack slice 1 is 10 × 10 pixels × 30 channels but slice 0 is 10 × 12 × 30: .*same rows, cols and channels/);
    const c = { X: mat(29, 120, () => 1), shape: { rows: 10, cols: 12 } };
    expect(() => toStack([a, c])).toThrow(/slice 1 .*29 channels/);
  });

  test('fast multislice = seeded NNMF on the reference + per-slice NNLS with the same spectra', async () => {
    const seeded = { components: 3, spectra: [10, 15, 20].map((c) => ({ centre: c, width: 3, amplitude: 100 })), backend: 'cpu' as const, maxIter: 100 };
    const r = await fitMultislice(cube, { seeded, referenceSlice: 1, nnls: { chunkPixels: 64 } });
    expect(r.maps).toHaveLength(3);
    expect(r.sliceIterations[1]).toBe(r.reference.summary.iterations);
    for (const z of [0, 2]) {
      const alone = await fitNNLS(slices[z].X, { spectra: r.D, backend: 'cpu' });
      for (let i = 0; i < alone.H.data.length; i++) expect(r.maps[z].data[i]).toBeCloseTo(alone.H.data[i], 9);
    }
    expect(r.nnls!.H.cols).toBe(240); // both other slices in one batched call
    expect(r.summary.mode).toBe('multislice');
  });

  test('per-slice analysis runs the mode on every slice', async () => {
    const r = await fitPerSlice(cube, { mode: 'pca', options: { components: 2, backend: 'cpu' } });
    expect(r).toHaveLength(3);
  });
});
