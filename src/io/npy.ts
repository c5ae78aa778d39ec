/**
 * The NumPy `.npy` format, read and written without Node: pure functions over bytes, so the
 * browser bundle can use them too (the file helpers live in `npy-node.ts`).
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *   magic "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0/3.0),
 *   a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with
 *   spaces and ended by '\n' (latin1 for 1.0/2.0, utf8 for 3.0), then the raw data.
 *
 * Reading decisions:
 * - `parseNpy` returns every numeric dtype as float64 (`data`), the original dtype kept in `dtype`.
 *   `readNpyView` keeps the file's own dtype where JavaScript has a typed array for it, without a
 *   copy where it can: for callers that must not pay for a float64 copy of a large file up front.
 * - Supported: float16/32/64, int8–int64, uint8–uint64, bool; byte orders '<', '>', '|' (1-byte
 *   types only) and '=' (native: taken as little endian, what every numpy platform in use writes).
 * - int64/uint64 values are converted exactly; a value beyond ±2^53 (not exactly representable
 *   as a float64) is an error naming the element, never a silent rounding.
 * - Fortran-ordered arrays are reordered so `data` is always C order (row-major).
 * - Bytes after the data are an error: they mean the header's shape does not describe the file.
 */
import { WebnmfError } from '../errors.js';

export interface NpyArray {
  /** Dimensions, C order (the first axis varies slowest in `data`). */
  readonly shape: number[];
  /** The dtype as the file spelled it, e.g. '<f8', '>i2', '|b1'. */
  readonly dtype: string;
  /** The values, row-major (C order), converted to float64. */
  readonly data: Float64Array;
  /** Whether the file stored the array in Fortran order (already reordered in `data`). */
  readonly fortranOrder: boolean;
  /** The header version, e.g. '1.0'. */
  readonly version: string;
}

/** The typed arrays `readNpyView` returns: the file's dtype, or float64 where JavaScript has none. */
export type NpyValues = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** A .npy array with its values in the file's order and (where JavaScript has it) its dtype. */
export interface NpyView {
  /** Dimensions as the header states them. */
  readonly shape: number[];
  /** The dtype as the file spelled it, e.g. '<f8', '>i2', '|b1'. */
  readonly dtype: string;
  /**
   * The values in the file's memory order (see `strides`). float32/64 and (u)int8/16/32 keep
   * their type (byte-swapped when the file's byte order is not the host's); float16, (u)int64 and
   * bool are converted to float64. A view over the caller's bytes when the data is in the host's
   * byte order and aligned, else a copy.
   */
  readonly values: NpyValues;
  /** Element strides per axis: element (i₀, i₁, …) is `values[Σ i_d · strides[d]]`. */
  readonly strides: number[];
  readonly fortranOrder: boolean;
  readonly version: string;
}

/** What `encodeNpy` writes. */
export interface NpyWritable {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export type NpyWriteDtype = 'float64' | 'float32';

export interface NpyEncodeOptions {
  /** Default: float32 for a Float32Array, else float64. */
  dtype?: NpyWriteDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const SUPPORTED =
  'float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64 and bool ' +
  "(any byte order), e.g. '<f8'";

/** Whether `bytes` (a file's first bytes suffice) start with the .npy magic "\x93NUMPY". */
export function hasNpyMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

const fail = (name: string, message: string): never => {
  throw new WebnmfError('input', `${name}: ${message}`);
};

// ---------------------------------------------------------------------------------------------
// A tiny parser for the Python literal in the header (dicts, tuples, lists, strings, ints, bools)
// ---------------------------------------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

class LiteralParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly name: string,
  ) {}

  parse(): PyValue {
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.error(`unexpected '${this.s[this.i]}'`);
    return v;
  }

  private error(what: string): never {
    return fail(
      this.name,
      `the .npy header is not a valid Python dict literal (${what} at character ${this.i} of ` +
        `${JSON.stringify(this.s.trim())}); the file is corrupt or not written by numpy. ` +
        'Re-save it with numpy.save.',
    );
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private value(): PyValue {
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) this.error('unexpected end');
    if (c === '{') return this.dict();
    if (c === '(') return this.seq(')');
    if (c === '[') return this.seq(']');
    if (c === "'" || c === '"') return this.str();
    const m = /^(True|False|None|[-+]?\d+L?)/.exec(this.s.slice(this.i));
    if (!m) this.error(`unexpected '${c}'`);
    this.i += m![0].length;
    if (m![0] === 'True') return true;
    if (m![0] === 'False') return false;
    if (m![0] === 'None') return null;
    return Number(m![0].replace(/L$/, ''));
  }

  private str(): string {
    const q = this.s[this.i++];
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== q) {
      if (this.s[this.i] === '\\') this.i++;
      out += this.s[this.i++] ?? '';
    }
    if (this.s[this.i] !== q) this.error('unterminated string');
    this.i++;
    return out;
  }

  private seq(close: string): PyValue[] {
    this.i++;
    const out: PyValue[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.error(`expected ',' or '${close}'`);
    }
  }

  private dict(): { [key: string]: PyValue } {
    this.i++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const k = this.value();
      if (typeof k !== 'string') this.error('a dict key that is not a string');
      this.ws();
      if (this.s[this.i] !== ':') this.error("expected ':'");
      this.i++;
      out[k as string] = this.value();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.error("expected ',' or '}'");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// dtypes
// ---------------------------------------------------------------------------------------------

interface Dtype {
  kind: 'f' | 'i' | 'u' | 'b';
  size: number;
  little: boolean;
}

function parseDtype(descr: PyValue, name: string): Dtype {
  if (typeof descr !== 'string') {
    return fail(
      name,
      `structured arrays (descr ${JSON.stringify(descr)}) are not supported; ` +
        `save a plain numeric array instead. Supported dtypes: ${SUPPORTED}.`,
    );
  }
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  const order = m?.[1] ?? '';
  let kind = m?.[2] ?? '';
  let size = m?.[3] ? Number(m[3]) : NaN;
  if (kind === '?') {
    kind = 'b';
    size = Number.isNaN(size) ? 1 : size;
  }
  if (kind === 'O') {
    return fail(
      name,
      `object arrays (dtype '${descr}') are not supported: they hold Python objects, not ` +
        `numbers. Convert with arr.astype(np.float64) and save again. Supported dtypes: ${SUPPORTED}.`,
    );
  }
  const sizes: Record<string, number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };
  if (!m || !(kind in sizes) || !sizes[kind]!.includes(size)) {
    return fail(
      name,
      `dtype '${descr}' is not supported. Supported dtypes: ${SUPPORTED}. ` +
        'Convert with arr.astype(np.float64) and save again.',
    );
  }
  if (order === '|' && size > 1) {
    return fail(name, `dtype '${descr}' has no byte order ('|') but ${size} bytes per element; the header is corrupt.`);
  }
  // '=' (native) and '' are taken as little endian: every platform numpy runs on today.
  return { kind: kind as Dtype['kind'], size, little: order !== '>' };
}

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const NATIVE: Record<string, new (buf: ArrayBuffer, byteOffset?: number, length?: number) => NpyValues> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
};

/**
 * The values as a typed array of their own dtype, when JavaScript has one (else undefined): a
 * view over `bytes` when the data is in the host's byte order and aligned, else a fresh copy
 * (byte-swapped when the orders differ).
 */
function nativeValues(bytes: Uint8Array, offset: number, count: number, dt: Dtype): NpyValues | undefined {
  const ctor = NATIVE[`${dt.kind}${dt.size}`];
  if (!ctor) return undefined;
  const start = bytes.byteOffset + offset;
  const swap = dt.size > 1 && dt.little !== HOST_LITTLE;
  if (!swap && start % dt.size === 0) return new ctor(bytes.buffer as ArrayBuffer, start, count);
  // A fresh copy (a Node Buffer's slice() would be a view, possibly misaligned).
  const copy = new Uint8Array(count * dt.size);
  copy.set(bytes.subarray(offset, offset + count * dt.size));
  if (swap) swapBytes(copy, dt.size);
  return new ctor(copy.buffer);
}

/** Reverses the bytes of every `size`-byte element, in place. */
function swapBytes(b: Uint8Array, size: number): void {
  for (let o = 0; o < b.length; o += size) {
    for (let i = 0, j = size - 1; i < j; i++, j--) {
      const t = b[o + i]!;
      b[o + i] = b[o + j]!;
      b[o + j] = t;
    }
  }
}

/** Decodes any supported dtype to float64 through a DataView (the dtypes JavaScript has no array for). */
function decodeValues(bytes: Uint8Array, offset: number, count: number, dt: Dtype, name: string): Float64Array {
  const out = new Float64Array(count);
  const nbytes = count * dt.size;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, nbytes);
  const le = dt.little;
  const TWO32 = 4294967296;
  for (let j = 0; j < count; j++) {
    const o = j * dt.size;
    let v: number;
    switch (dt.kind) {
      case 'b':
        v = dv.getUint8(o) ? 1 : 0;
        break;
      case 'f':
        v = dt.size === 8 ? dv.getFloat64(o, le) : dt.size === 4 ? dv.getFloat32(o, le) : halfToFloat(dv.getUint16(o, le));
        break;
      case 'i':
      case 'u': {
        if (dt.size === 1) v = dt.kind === 'i' ? dv.getInt8(o) : dv.getUint8(o);
        else if (dt.size === 2) v = dt.kind === 'i' ? dv.getInt16(o, le) : dv.getUint16(o, le);
        else if (dt.size === 4) v = dt.kind === 'i' ? dv.getInt32(o, le) : dv.getUint32(o, le);
        else {
          const lo = dv.getUint32(le ? o : o + 4, le);
          const hi = dt.kind === 'i' ? dv.getInt32(le ? o + 4 : o, le) : dv.getUint32(le ? o + 4 : o, le);
          // |value| ≤ 2^53 ⇔ hi ∈ [-2^21, 2^21), or hi = 2^21 with lo = 0; then hi·2^32 + lo is exact.
          if (hi > 2097152 || (hi === 2097152 && lo > 0) || hi < -2097152) {
            const big = dt.kind === 'i' ? dv.getBigInt64(o, le) : dv.getBigUint64(o, le);
            return fail(
              name,
              `element ${j} (${big}) of this ${dt.kind}nt64 array is beyond ±2^53 and cannot be ` +
                'represented exactly as a float64. Convert the array to float64 in numpy first.',
            );
          }
          v = hi * TWO32 + lo;
        }
        break;
      }
    }
    out[j] = v;
  }
  return out;
}

/** Element strides of `shape` stored in C order (last axis fastest) or Fortran order (first fastest). */
function stridesOf(shape: readonly number[], fortran: boolean): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = 0; k < shape.length; k++) {
    const d = fortran ? k : shape.length - 1 - k;
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Reorders Fortran-order data of `shape` into C order. */
function fortranToC(src: Float64Array, shape: readonly number[]): Float64Array {
  const nd = shape.length;
  if (nd < 2) return src;
  const out = new Float64Array(src.length);
  if (src.length === 0) return out;
  const fstride = new Array<number>(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fstride[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let c = 0; c < out.length; c++) {
    out[c] = src[f]!;
    // Advance the C-order odometer (last axis fastest), keeping the Fortran offset in step.
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      f += fstride[d]!;
      if (idx[d]! < shape[d]!) break;
      f -= fstride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

const fmtShape = (shape: readonly number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

/** A validated header: where the data starts and what it holds. */
interface NpyHeader {
  shape: number[];
  descr: string;
  dt: Dtype;
  fortran: boolean;
  version: string;
  dataStart: number;
  count: number;
}

/** Reads and checks the header, and that the data that follows is exactly what it describes. */
function readHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    return fail(
      name,
      bytes.length < 6 || MAGIC.some((b, i) => bytes[i] !== b)
        ? 'not a .npy file (it does not start with the magic bytes "\\x93NUMPY"). ' +
            'Save the array with numpy.save(path, array).'
        : `truncated .npy file: ${bytes.length} bytes, too short for a header.`,
    );
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) {
    return fail(name, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0).`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) return fail(name, `truncated .npy file: ${bytes.length} bytes, too short for a header.`);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length) {
    return fail(
      name,
      `truncated .npy file: the header says it is ${headerLen} bytes long but the file has only ` +
        `${bytes.length - 8 - lenBytes} bytes after the preamble. The file was cut short; copy or save it again.`,
    );
  }
  const headerBytes = bytes.subarray(8 + lenBytes, dataStart);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const dict = new LiteralParser(header, name).parse();
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    return fail(name, `the .npy header is not a dict (${JSON.stringify(header.trim())}); the file is corrupt.`);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!(key in dict)) return fail(name, `the .npy header has no '${key}' entry; the file is corrupt.`);
  }
  const dt = parseDtype(dict['descr']!, name);
  const fortran = dict['fortran_order'];
  if (typeof fortran !== 'boolean') return fail(name, `the .npy header's 'fortran_order' is not True/False; the file is corrupt.`);
  const shapeV = dict['shape'];
  if (!Array.isArray(shapeV) || !shapeV.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(name, `the .npy header's shape ${JSON.stringify(shapeV)} is not a tuple of non-negative integers; the file is corrupt.`);
  }
  const shape = shapeV as number[];
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * dt.size;
  const have = bytes.length - dataStart;
  if (have < need) {
    return fail(
      name,
      `truncated .npy file: shape ${fmtShape(shape)} of ${dict['descr']} needs ${need} data bytes but ` +
        `the file has only ${have}. The file was cut short; copy or save it again.`,
    );
  }
  if (have > need) {
    return fail(
      name,
      `${have - need} unexpected bytes after the data: shape ${fmtShape(shape)} of ${dict['descr']} ` +
        `accounts for ${need} data bytes but the file has ${have}. The header does not describe the ` +
        'data; save the array again with numpy.save.',
    );
  }
  return { shape: [...shape], descr: dict['descr'] as string, dt, fortran, version: `${major}.${minor}`, dataStart, count };
}

/**
 * Parses the bytes of a `.npy` file. `name` (a file name) starts every error message.
 * Throws WebnmfError('input') for anything that is not a complete, supported .npy array.
 */
export function parseNpy(bytes: Uint8Array, name = 'input'): NpyArray {
  const h = readHeader(bytes, name);
  const native = nativeValues(bytes, h.dataStart, h.count, h.dt);
  // `data` is always the caller's own copy, never a view over `bytes`.
  let data = native ? new Float64Array(native) : decodeValues(bytes, h.dataStart, h.count, h.dt, name);
  if (h.fortran) data = fortranToC(data, h.shape);
  return { shape: h.shape, dtype: h.descr, data, fortranOrder: h.fortran, version: h.version };
}

/**
 * Parses the bytes of a `.npy` file like `parseNpy`, but keeps the values in the file's memory
 * order and, where JavaScript has a typed array for it, in the file's dtype, as a view over
 * `bytes` when it can (see `NpyView.values`): no float64 copy of the whole array. Same errors as
 * `parseNpy`.
 */
export function readNpyView(bytes: Uint8Array, name = 'input'): NpyView {
  const h = readHeader(bytes, name);
  const values = nativeValues(bytes, h.dataStart, h.count, h.dt) ?? decodeValues(bytes, h.dataStart, h.count, h.dt, name);
  return { shape: h.shape, dtype: h.descr, values, strides: stridesOf(h.shape, h.fortran), fortranOrder: h.fortran, version: h.version };
}

/**
 * Encodes an array as .npy bytes: little endian, C order, float64 (or float32), a version 1.0
 * header padded to a multiple of 64 bytes as numpy writes it (2.0 when the header exceeds 65535).
 */
export function encodeNpy(arr: NpyWritable, options: NpyEncodeOptions = {}): Uint8Array {
  const dtype: NpyWriteDtype = options.dtype ?? (arr.data instanceof Float32Array ? 'float32' : 'float64');
  if (dtype !== 'float64' && dtype !== 'float32') {
    throw new WebnmfError('usage', `encodeNpy: dtype '${String(dtype)}' is not supported; use 'float64' or 'float32'.`);
  }
  const shape = [...arr.shape];
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WebnmfError('usage', `encodeNpy: shape ${JSON.stringify(shape)} must be non-negative integers.`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new WebnmfError(
      'usage',
      `encodeNpy: shape ${fmtShape(shape)} holds ${count} values but the data has ${arr.data.length}; pass a matching shape.`,
    );
  }
  const descr = dtype === 'float64' ? '<f8' : '<f4';
  const size = dtype === 'float64' ? 8 : 4;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${fmtShape(shape)}, }`;
  let major = 1;
  let pre = 10;
  let total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (total - pre > 0xffff) {
    major = 2;
    pre = 12;
    total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - pre;
  const header = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  const out = new Uint8Array(total + count * size);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  if (HOST_LITTLE) {
    const view = dtype === 'float64' ? new Float64Array(out.buffer, total, count) : new Float32Array(out.buffer, total, count);
    for (let i = 0; i < count; i++) view[i] = arr.data[i]!;
  } else {
    for (let i = 0; i < count; i++) {
      if (size === 8) dv.setFloat64(total + 8 * i, arr.data[i]!, true);
      else dv.setFloat32(total + 4 * i, arr.data[i]!, true);
    }
  }
  return out;
}

/** Encodes a row-major Matrix as a 2-D .npy array (rows × cols). */
export function encodeMatrixNpy(
  m: { rows: number; cols: number; data: ArrayLike<number> },
  options: NpyEncodeOptions = {},
): Uint8Array {
  return encodeNpy({ shape: [m.rows, m.cols], data: m.data }, options);
}
