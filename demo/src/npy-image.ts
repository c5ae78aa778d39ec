/**
 * A .npy spectrum image as the browser app holds it: the values stay in the file's dtype and
 * memory order (readNpyView: a view over the file's bytes, no float64 copy), so the first render
 * costs one pass over them, and ESPM's X (channels × pixels) is gathered only when a fit needs it.
 *
 * Layouts, as before: 3-D rows × cols × channels, 4-D slices × rows × cols × channels, 1-D one
 * spectrum, and 2-D channels × pixels (ESPM's X, the image shape typed on the page or a square),
 * each in C or Fortran order.
 */
import { readNpyView, type NpyValues } from '../../src/io/npy.js';
import { indexAxis, type Axis } from '../../src/io/readers/cube.js';
import type { Matrix } from '../../src/types.js';

export interface NpyImage {
  values: NpyValues;
  rows: number;
  cols: number;
  channels: number;
  /** 4-D files only. */
  slices?: number;
  /** Element (slice z, pixel (r, c), channel ch) is values[z·slice + r·row + c·col + ch·channel]. */
  strides: { slice: number; row: number; col: number; channel: number };
  /** e.g. 'npy <u2', 'npy <f8 (2-D channels × pixels)'. */
  format: string;
  signalAxis: Axis;
  navigationAxes: Axis[];
}

/** Reads the file's bytes as a spectrum image; `shape` is the page's image shape (2-D files only). */
export function npyImage(bytes: Uint8Array, name: string, shape?: { rows: number; cols: number }): NpyImage {
  const arr = readNpyView(bytes, name);
  const dims = arr.shape;
  const empty = dims.indexOf(0);
  if (empty >= 0) throw new Error(`${name}: the array has shape (${dims.join(', ')}): no elements along axis ${empty}, nothing to show.`);
  const layout = layoutOf(name, dims, arr.strides, shape);
  const navigationAxes = [indexAxis('y', layout.rows, true), indexAxis('x', layout.cols, true)];
  if (layout.slices !== undefined) navigationAxes.unshift(indexAxis('z', layout.slices, true));
  return {
    ...layout,
    values: arr.values,
    format: `npy ${arr.dtype}${dims.length === 2 ? ' (2-D channels × pixels)' : ''}`,
    signalAxis: indexAxis('channel', layout.channels, false),
    navigationAxes,
  };
}

type Layout = Pick<NpyImage, 'rows' | 'cols' | 'channels' | 'slices' | 'strides'>;

/** Which axis of the array is which, and the element strides of each. */
function layoutOf(name: string, dims: number[], st: number[], shape?: { rows: number; cols: number }): Layout {
  switch (dims.length) {
    case 1:
      return { rows: 1, cols: 1, channels: dims[0]!, strides: { slice: 0, row: 0, col: 0, channel: st[0]! } };
    case 2: {
      const [n, p] = dims as [number, number];
      const { rows, cols } = imageShape(name, n, p, shape);
      // Pixel r·cols + c is element r·cols + c of the file's pixel axis.
      return { rows, cols, channels: n, strides: { slice: 0, row: cols * st[1]!, col: st[1]!, channel: st[0]! } };
    }
    case 3: {
      const [rows, cols, channels] = dims as [number, number, number];
      return { rows, cols, channels, strides: { slice: 0, row: st[0]!, col: st[1]!, channel: st[2]! } };
    }
    case 4: {
      const [slices, rows, cols, channels] = dims as [number, number, number, number];
      return { slices, rows, cols, channels, strides: { slice: st[0]!, row: st[1]!, col: st[2]!, channel: st[3]! } };
    }
    default:
      throw new Error(
        `${name}: a .npy spectrum image must be 3-D (rows, cols, channels), 4-D (slices, rows, cols, channels), ` +
          `2-D (channels, pixels) or 1-D (one spectrum); this array has shape (${dims.join(', ')}). Reshape it in numpy ` +
          '(e.g. X.T.reshape(rows, cols, channels) for a channels × pixels matrix) and save again.',
      );
  }
}

/** The image shape of a 2-D channels × pixels file: the page's, or a square. */
function imageShape(name: string, n: number, p: number, shape?: { rows: number; cols: number }): { rows: number; cols: number } {
  if (!shape) {
    const s = Math.round(Math.sqrt(p));
    if (s * s !== p) {
      throw new Error(
        `${name}: a 2-D .npy is read as channels × pixels (${n} × ${p}); ${p} pixels is not a square image, ` +
          'so type the image shape (rows × cols) in the "image shape" field and load the file again.',
      );
    }
    return { rows: s, cols: s };
  }
  if (shape.rows * shape.cols !== p) {
    throw new Error(
      `${name}: the image shape ${shape.rows} × ${shape.cols} = ${shape.rows * shape.cols} pixels does not match the file's ${p} pixels (columns of channels × pixels).`,
    );
  }
  return shape;
}

/** Values with an image layout: a file read in place, a cube, or X (channels × pixels). */
export type StridedImage = Pick<NpyImage, 'values' | 'rows' | 'cols' | 'channels' | 'strides'>;

/** Where channel 0 of each pixel (r·cols + c) of `slice` lies in `values`. */
function pixelOffsets(img: StridedImage, slice: number): Uint32Array {
  const { rows, cols, strides } = img;
  const offsets = new Uint32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = slice * strides.slice + r * strides.row;
    for (let c = 0; c < cols; c++) offsets[r * cols + c] = base + c * strides.col;
  }
  return offsets;
}

/**
 * The sum image (counts per pixel) and the mean spectrum of one slice, in one pass over the
 * values in their memory order: spectrum by spectrum when each is contiguous, else channel image
 * by channel image.
 */
export function npyOverview(img: StridedImage, slice = 0): { sumImage: Float32Array; meanSpectrum: Float64Array } {
  const { values: v, channels: n } = img;
  const offsets = pixelOffsets(img, slice);
  const p = offsets.length;
  const cs = img.strides.channel;
  const sums = new Float64Array(p);
  const spectrum = new Float64Array(n);
  if (cs === 1) {
    for (let j = 0; j < p; j++) {
      const o = offsets[j]!;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const x = v[o + i]!;
        s += x;
        spectrum[i] += x;
      }
      sums[j] = s;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * cs;
      let s = 0;
      for (let j = 0; j < p; j++) {
        const x = v[o + offsets[j]!]!;
        s += x;
        sums[j] += x;
      }
      spectrum[i] = s;
    }
  }
  for (let i = 0; i < n; i++) spectrum[i] /= p;
  return { sumImage: Float32Array.from(sums), meanSpectrum: spectrum };
}

/**
 * ESPM's X (channels × pixels) of one slice. float32 when every value of the file's dtype is
 * exactly a float32 ((u)int8/16, float32: the solvers widen X to float64 themselves, so the fits
 * are the same as from a float64 X), else float64. A 2-D C-order float file already is X: no copy.
 */
export function npyMatrix(img: NpyImage, slice = 0): Matrix {
  const { values: v, channels: n } = img;
  const offsets = pixelOffsets(img, slice);
  const p = offsets.length;
  const cs = img.strides.channel;
  const isX = v.length === n * p && cs === p && offsets.every((o, j) => o === j);
  if (isX && (v instanceof Float32Array || v instanceof Float64Array)) return { rows: n, cols: p, data: v };
  const wide = v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint32Array;
  const out = wide ? new Float64Array(n * p) : new Float32Array(n * p);
  if (cs === 1) {
    for (let j = 0; j < p; j++) {
      const o = offsets[j]!;
      for (let i = 0; i < n; i++) out[i * p + j] = v[o + i]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * cs;
      for (let j = 0; j < p; j++) out[i * p + j] = v[o + offsets[j]!]!;
    }
  }
  return { rows: n, cols: p, data: out };
}
