/**
 * The common result of every spectrum-image reader: a datacube with its axes.
 *
 * Layout (HyperSpy's EDX layout): row-major rows × cols × channels, i.e. the spectrum of pixel
 * (r, c) is `data[(r * cols + c) * channels + ch]`; a 4-D stack adds a slowest `slices` axis
 * (z or time): `data[((z * rows + r) * cols + c) * channels + ch]`.
 *
 * Pure code (no Node APIs): the browser bundle uses it.
 */
import { WebnmfError } from '../../errors.js';
import type { ImageShape, Matrix } from '../../types.js';

export interface Axis {
  name: string;
  size: number;
  offset: number;
  scale: number;
  units: string;
  navigate: boolean;
}

export interface Cube {
  /** Row-major rows × cols × channels, or slices × rows × cols × channels for 4-D stacks. */
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
  channels: number;
  /** Present (≥ 1) for 4-D stacks: the slowest axis (z, time or frame). */
  slices?: number;
  /** The energy / wavenumber axis (offset, scale and units as the file states them). */
  signalAxis: Axis;
  /** Slowest first: [z,] y, x. */
  navigationAxes: Axis[];
  title?: string;
  /** The file name the cube was read from. */
  source: string;
  metadata?: Record<string, unknown>;
}

/** An axis of `size` points with index calibration (offset 0, scale 1, no units). */
export function indexAxis(name: string, size: number, navigate: boolean): Axis {
  return { name, size, offset: 0, scale: 1, units: '', navigate };
}

/**
 * Checks a cube's internal consistency (sizes, data length, axes); readers call it last, so a
 * reader bug surfaces as a clear error instead of a mis-shaped matrix later.
 */
export function checkCube(cube: Cube): Cube {
  const { rows, cols, channels } = cube;
  const slices = cube.slices ?? 1;
  for (const [k, v] of [
    ['rows', rows],
    ['cols', cols],
    ['channels', channels],
    ['slices', slices],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new WebnmfError('input', `${cube.source}: the cube's ${k} is ${v}; it must be a positive integer.`);
    }
  }
  const expected = slices * rows * cols * channels;
  if (cube.data.length !== expected) {
    throw new WebnmfError(
      'input',
      `${cube.source}: the cube holds ${cube.data.length} values but its shape ` +
        `${shapeString(cube)} needs ${expected}.`,
    );
  }
  if (cube.signalAxis.size !== channels) {
    throw new WebnmfError(
      'input',
      `${cube.source}: the signal axis has ${cube.signalAxis.size} points but the cube has ${channels} channels.`,
    );
  }
  return cube;
}

/** "2 × 3 × 4" (rows × cols × channels) or "5 × 2 × 3 × 4" with slices. */
export function shapeString(cube: Pick<Cube, 'rows' | 'cols' | 'channels' | 'slices'>): string {
  const dims = [cube.rows, cube.cols, cube.channels];
  if (cube.slices !== undefined) dims.unshift(cube.slices);
  return dims.join(' × ');
}

export interface CubeToMatrixOptions {
  /**
   * Which slice of a 4-D cube to unmix (0-based). A 4-D cube with more than one slice needs it;
   * `'stack'` stacks the slices vertically instead (shape rows·slices × cols; note that the
   * spatial Laplacian then links the last row of one slice to the first row of the next).
   */
  slice?: number | 'stack';
}

/**
 * The cube as webnmf's X: channels × pixels (pixel index r * cols + c), in the cube's precision,
 * with the image shape the spatial regulariser needs.
 */
export function cubeToMatrix(
  cube: Cube,
  options: CubeToMatrixOptions = {},
): { X: Matrix; shape: ImageShape } {
  checkCube(cube);
  const { rows, cols, channels } = cube;
  const slices = cube.slices ?? 1;
  const perSlice = rows * cols;
  let first = 0;
  let count = 1;
  let outRows = rows;
  if (slices > 1 || options.slice !== undefined) {
    const s = options.slice;
    if (s === 'stack') {
      count = slices;
      outRows = rows * slices;
    } else if (s === undefined) {
      throw new WebnmfError(
        'usage',
        `${cube.source}: the cube is 4-D (${shapeString(cube)}: slices × rows × cols × channels); ` +
          `choose one slice with { slice: 0..${slices - 1} } or stack them with { slice: 'stack' }.`,
      );
    } else if (!Number.isInteger(s) || s < 0 || s >= slices) {
      throw new WebnmfError(
        'usage',
        `${cube.source}: slice ${s} does not exist; the cube has ${slices} slice(s), 0..${slices - 1}.`,
      );
    } else {
      first = s;
    }
  }
  const pixels = perSlice * count;
  const src = cube.data;
  const out = src instanceof Float32Array ? new Float32Array(channels * pixels) : new Float64Array(channels * pixels);
  const base = first * perSlice * channels;
  for (let p = 0; p < pixels; p++) {
    const o = base + p * channels;
    for (let ch = 0; ch < channels; ch++) out[ch * pixels + p] = src[o + ch]!;
  }
  return { X: { rows: channels, cols: pixels, data: out }, shape: { rows: outRows, cols } };
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for readers
// ---------------------------------------------------------------------------------------------

/**
 * Moves axis `axis` of a C-ordered array of shape `shape` to the end (the others keep their
 * order). Used for channel-major layouts (ripple record-by image, HyperSpy files whose signal
 * axis is not last).
 */
export function moveAxisToLast<T extends Float32Array | Float64Array>(
  data: T,
  shape: readonly number[],
  axis: number,
): T {
  const n = shape.length;
  if (axis === n - 1) return data;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new (data.constructor as { new (n: number): T })(data.length);
  // in:  [outer][len][inner]  →  out: [outer][inner][len]
  for (let o = 0; o < outer; o++) {
    const ib = o * len * inner;
    for (let k = 0; k < len; k++) {
      const src = ib + k * inner;
      for (let i = 0; i < inner; i++) out[ib + i * len + k] = data[src + i]!;
    }
  }
  return out;
}

/**
 * Converts the numeric array a decoder produced to the cube's storage: float32 when every value
 * is exactly representable there (8/16-bit integers, float32), float64 otherwise.
 */
export function toCubeData(
  values: ArrayLike<number | bigint> & { length: number },
  source: string,
): Float32Array | Float64Array {
  if (values instanceof Float32Array || values instanceof Float64Array) return values;
  if (
    values instanceof Uint8Array ||
    values instanceof Int8Array ||
    values instanceof Uint16Array ||
    values instanceof Int16Array ||
    values instanceof Uint8ClampedArray
  ) {
    return Float32Array.from(values as ArrayLike<number>);
  }
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const f = Number(v);
      if (!Number.isSafeInteger(f)) {
        throw new WebnmfError(
          'input',
          `${source}: value ${v} at element ${i} is beyond ±2^53 and cannot be held exactly as a float64.`,
        );
      }
      out[i] = f;
    }
    return out;
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  return out;
}

/** The file name without directories (both separators), for messages and `source`. */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Lower-case extension without the dot ('' when none). */
export function extensionOf(path: string): string {
  const b = baseName(path);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(i + 1).toLowerCase() : '';
}

/** A Uint8Array view of bytes given as Uint8Array, ArrayBuffer or another view. */
export function asBytes(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Uint8Array(bytes);
}

export type Bytes = Uint8Array | ArrayBuffer;
