/**
 * The browser app's in-place .npy path (demo/src/npy-image.ts) against the library's reference
 * path (parseNpy → npyCube → cubeToMatrix): the same X and overview for every dtype, byte order,
 * memory order and layout the app reads, and the same fit from its float32 X as from float64.
 */
import { describe, expect, it } from 'vitest';
import { npyImage, npyMatrix, npyOverview } from '../../demo/src/npy-image.js';
import { fitSmoothNMF } from '../../src/estimator.js';
import { parseNpy } from '../../src/io/npy.js';
import { cubeToMatrix, npyCube } from '../../src/io/readers/index.js';
import type { Matrix } from '../../src/types.js';
import { header, npyBytes, raw, type Kind } from '../helpers/npy-bytes.js';

/** Values of a C-order array of `shape`, stored in C or Fortran order. */
function stored(c: number[], shape: number[], fortran: boolean): number[] {
  if (!fortran) return c;
  const out = new Array<number>(c.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < c.length; k++) {
    let f = 0;
    let s = 1;
    for (let d = 0; d < shape.length; d++) {
      f += idx[d]! * s;
      s *= shape[d]!;
    }
    out[f] = c[k]!;
    for (let d = shape.length - 1; d >= 0 && ++idx[d]! === shape[d]; d--) idx[d] = 0;
  }
  return out;
}

/** The library's X (channels × pixels) of the file: 2-D files are X already. */
function referenceX(bytes: Uint8Array, slice: number): Matrix {
  const arr = parseNpy(bytes);
  if (arr.shape.length === 2) return { rows: arr.shape[0]!, cols: arr.shape[1]!, data: arr.data };
  const cube = npyCube(bytes, 'x.npy');
  return cubeToMatrix(cube, cube.slices !== undefined ? { slice } : {}).X;
}

/** Sum image and mean spectrum of X, straight from the definition. */
function referenceOverview(X: Matrix): { sumImage: number[]; meanSpectrum: number[] } {
  const sumImage = Array.from({ length: X.cols }, (_, j) => Math.fround(Array.from({ length: X.rows }, (_, i) => X.data[i * X.cols + j]!).reduce((a, b) => a + b, 0)));
  const meanSpectrum = Array.from({ length: X.rows }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)).reduce((a, b) => a + b, 0) / X.cols);
  return { sumImage, meanSpectrum };
}

const DTYPES: { code: string; kind: Kind; size: number; X: string }[] = [
  { code: 'u1', kind: 'u', size: 1, X: 'Float32Array' },
  { code: 'i2', kind: 'i', size: 2, X: 'Float32Array' },
  { code: 'u2', kind: 'u', size: 2, X: 'Float32Array' },
  { code: 'f4', kind: 'f', size: 4, X: 'Float32Array' },
  { code: 'i4', kind: 'i', size: 4, X: 'Float64Array' },
  { code: 'u4', kind: 'u', size: 4, X: 'Float64Array' },
  { code: 'f8', kind: 'f', size: 8, X: 'Float64Array' },
  { code: 'f2', kind: 'f', size: 2, X: 'Float64Array' },
  { code: 'i8', kind: 'i', size: 8, X: 'Float64Array' },
  { code: 'b1', kind: 'b', size: 1, X: 'Float64Array' },
];

// 2-D files are channels × pixels of a 2 × 3 image (the shape the page would give).
const LAYOUTS: { name: string; shape: number[]; image?: { rows: number; cols: number }; slices?: number }[] = [
  { name: '3-D rows × cols × channels', shape: [2, 3, 4] },
  { name: '4-D slices × rows × cols × channels', shape: [2, 2, 3, 4], slices: 2 },
  { name: '2-D channels × pixels', shape: [4, 6], image: { rows: 2, cols: 3 } },
  { name: '1-D one spectrum', shape: [5] },
];

describe('npyImage: the same X and overview as the library, for every dtype, byte order and memory order', () => {
  for (const layout of LAYOUTS) {
    for (const dt of DTYPES) {
      for (const bo of dt.size === 1 ? ['|'] : ['<', '>']) {
        for (const fortran of [false, true]) {
          it(`${layout.name}, ${bo}${dt.code}, ${fortran ? 'Fortran' : 'C'} order`, () => {
            const count = layout.shape.reduce((a, b) => a * b, 1);
            // Distinct small integers (exact in every dtype); bool: a 0/1 pattern.
            const c = Array.from({ length: count }, (_, k) => (dt.kind === 'b' ? (k * 7) % 3 % 2 : (k * 37) % 101));
            const bytes = npyBytes(header(`${bo}${dt.code}`, layout.shape, fortran), raw(stored(c, layout.shape, fortran), dt.kind, dt.size, bo !== '>'));
            const img = npyImage(bytes, 'x.npy', layout.image);
            for (let slice = 0; slice < (layout.slices ?? 1); slice++) {
              const want = referenceX(bytes, slice);
              const X = npyMatrix(img, slice);
              expect([X.rows, X.cols]).toEqual([want.rows, want.cols]);
              expect(X.data.constructor.name).toBe(dt.X);
              expect(Array.from(X.data)).toEqual(Array.from(want.data));
              const o = npyOverview(img, slice);
              const ref = referenceOverview(want);
              expect(Array.from(o.sumImage)).toEqual(ref.sumImage);
              expect(Array.from(o.meanSpectrum)).toEqual(ref.meanSpectrum);
            }
          });
        }
      }
    }
  }

  it('describes the file as the app shows it', () => {
    const cube = npyImage(npyBytes(header('<u2', [2, 2, 3, 4]), raw(new Array(48).fill(1), 'u', 2, true)), 'c.npy');
    expect([cube.slices, cube.rows, cube.cols, cube.channels, cube.format]).toEqual([2, 2, 3, 4, 'npy <u2']);
    expect(cube.navigationAxes.map((a) => `${a.name}:${a.size}`)).toEqual(['z:2', 'y:2', 'x:3']);
    expect(cube.signalAxis).toMatchObject({ name: 'channel', size: 4, navigate: false });
    const m = npyImage(npyBytes(header('<f8', [4, 9]), raw(new Array(36).fill(1), 'f', 8, true)), 'm.npy');
    expect([m.rows, m.cols, m.channels, m.format]).toEqual([3, 3, 4, 'npy <f8 (2-D channels × pixels)']);
  });

  it('a 2-D C-order float file is X already: no copy', () => {
    const bytes = npyBytes(header('<f8', [4, 6]), raw(Array.from({ length: 24 }, (_, k) => k), 'f', 8, true));
    const X = npyMatrix(npyImage(bytes, 'm.npy', { rows: 2, cols: 3 }));
    expect(X.data.buffer).toBe(bytes.buffer);
    expect(Array.from(X.data)).toEqual(Array.from(parseNpy(bytes).data));
  });

  it('rejects what it cannot show, saying why', () => {
    const file = (shape: number[]) => npyBytes(header('<f4', shape), raw(new Array(shape.reduce((a, b) => a * b, 1)).fill(1), 'f', 4, true));
    expect(() => npyImage(file([2, 2, 2, 2, 2]), 'five.npy')).toThrow(/^five\.npy: .*must be 3-D .*shape \(2, 2, 2, 2, 2\)/);
    expect(() => npyImage(file([4, 6]), 'm.npy')).toThrow(/4 × 6.*6 pixels is not a square image.*image shape/);
    expect(() => npyImage(file([4, 6]), 'm.npy', { rows: 2, cols: 2 })).toThrow(/2 × 2 = 4 pixels does not match the file's 6 pixels/);
    expect(() => npyImage(file([0, 3, 4]), 'e.npy')).toThrow(/^e\.npy: .*no elements along axis 0/);
    expect(() => npyImage(new Uint8Array(20), 'z.npy')).toThrow(/^z\.npy: not a \.npy file/);
  });
});

describe("the app's float32 X fits exactly like the library's float64 X", () => {
  it('SmoothNMF on the CPU gives bit-identical maps and spectra', async () => {
    const [rows, cols, channels] = [4, 5, 6];
    const c = Array.from({ length: rows * cols * channels }, (_, k) => 1 + ((k * 37) % 11));
    const bytes = npyBytes(header('<u2', [rows, cols, channels]), raw(c, 'u', 2, true));
    const X32 = npyMatrix(npyImage(bytes, 'x.npy'));
    const X64 = referenceX(bytes, 0);
    expect(X32.data).toBeInstanceOf(Float32Array);
    expect(X64.data).toBeInstanceOf(Float64Array);
    const opts = { components: 2, shape: { rows, cols }, maxIter: 30, backend: 'cpu' as const, seed: 3 };
    const [a, b] = [await fitSmoothNMF(X32, opts), await fitSmoothNMF(X64, opts)];
    expect(Array.from(a.H.data)).toEqual(Array.from(b.H.data));
    expect(Array.from(a.D.data)).toEqual(Array.from(b.D.data));
    expect(a.nIter).toBe(b.nIter);
  });
});
