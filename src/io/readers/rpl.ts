/**
 * Lispix ripple (.rpl header + .raw binary), as written by Lispix, Oxford/Bruker exports and
 * RosettaSciIO (HyperSpy).
 *
 * The .rpl is a text table of `key<TAB>value` lines (spaces also accepted; lines starting with
 * ';' are comments; a first line `key value` is a column heading). Required keys:
 *   width (x, cols), height (y, rows), depth (channels), offset (bytes to skip in the .raw),
 *   data-length (bytes per value: 1, 2, 4, 8), data-type (signed | unsigned | float),
 *   byte-order (little-endian | big-endian | dont-care), record-by (vector | image | dont-care).
 * Optional calibration as RosettaSciIO writes it: ev-per-chan, depth-origin/-scale/-units/-name,
 * width-… and height-… likewise; title, signal, beam-energy etc. go to `metadata`.
 *
 * record-by vector: the .raw is height × width × depth (a spectrum per pixel, contiguous);
 * record-by image: depth × height × width (one image per channel), transposed here to
 * rows × cols × channels; dont-care: only meaningful for depth 1 and read as vector.
 * byte-order dont-care is read as little endian (what every writer in use produces).
 *
 * Pure: bytes in, Cube out (the Node helper that finds the .raw beside the .rpl is in node.ts).
 */
import { WebnmfError } from '../../errors.js';
import { asBytes, baseName, checkCube, moveAxisToLast, type Axis, type Bytes, type Cube } from './cube.js';

export interface RplHeader {
  width: number;
  height: number;
  depth: number;
  offset: number;
  dataLength: number;
  dataType: 'signed' | 'unsigned' | 'float';
  byteOrder: 'little-endian' | 'big-endian' | 'dont-care';
  recordBy: 'vector' | 'image' | 'dont-care';
  /** Every key as written (lower-cased), value as text. */
  raw: Record<string, string>;
}

const fail = (name: string, message: string): never => {
  throw new WebnmfError('input', `${name}: ${message}`);
};

/** Parses the text of a .rpl header. */
export function parseRplHeader(text: string, name = 'input.rpl'): RplHeader {
  if (text.includes('\0')) {
    fail(name, 'the ripple header contains binary data; it is not a .rpl text file (did you pass the .raw?).');
  }
  const raw: Record<string, string> = {};
  for (const line0 of text.split(/\r\n|\r|\n/)) {
    const line = line0.trim();
    if (line === '' || line.startsWith(';')) continue;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = (m[2] ?? '').trim();
    if (key === 'key' && value.toLowerCase() === 'value') continue; // the column heading
    raw[key] = value;
  }
  const int = (key: string, min: number): number => {
    const v = raw[key];
    if (v === undefined) {
      return fail(
        name,
        `the ripple header has no '${key}' line; a .rpl needs width, height, depth, offset, ` +
          'data-length, data-type, byte-order and record-by.',
      );
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      return fail(name, `the ripple header's ${key} is '${v}'; it must be an integer ≥ ${min}.`);
    }
    return n;
  };
  const choice = <T extends string>(key: string, allowed: readonly T[], fallback?: T): T => {
    const v = raw[key]?.toLowerCase();
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      return fail(name, `the ripple header has no '${key}' line (one of ${allowed.join(', ')}).`);
    }
    if (!(allowed as readonly string[]).includes(v)) {
      return fail(name, `the ripple header's ${key} is '${raw[key]}'; expected one of ${allowed.join(', ')}.`);
    }
    return v as T;
  };
  const header: RplHeader = {
    width: int('width', 1),
    height: int('height', 1),
    depth: int('depth', 1),
    offset: raw['offset'] === undefined ? 0 : int('offset', 0),
    dataLength: int('data-length', 1),
    dataType: choice('data-type', ['signed', 'unsigned', 'float'] as const),
    byteOrder: choice('byte-order', ['little-endian', 'big-endian', 'dont-care'] as const, 'dont-care'),
    recordBy: choice('record-by', ['vector', 'image', 'dont-care'] as const, 'dont-care'),
    raw,
  };
  const { dataType, dataLength } = header;
  const ok =
    dataType === 'float' ? dataLength === 4 || dataLength === 8 : [1, 2, 4, 8].includes(dataLength);
  if (!ok) {
    fail(
      name,
      `the ripple header's data-type ${dataType} with data-length ${dataLength} is not a number type; ` +
        'use float with 4 or 8, or signed/unsigned with 1, 2, 4 or 8.',
    );
  }
  return header;
}

function num(raw: Record<string, string>, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function axisFrom(raw: Record<string, string>, prefix: string, fallbackName: string, size: number, navigate: boolean): Axis {
  const name = raw[`${prefix}-name`];
  return {
    // RosettaSciIO writes axis indices as names when the axes had none ('1', '2', '3').
    name: name && !/^\d+$/.test(name) ? name : fallbackName,
    size,
    offset: num(raw, `${prefix}-origin`) ?? 0,
    scale: num(raw, `${prefix}-scale`) ?? 1,
    units: raw[`${prefix}-units`] ?? '',
    navigate,
  };
}

export interface RplReadOptions {
  /** The .raw file's name, for messages (default: the .rpl name with .raw). */
  rawName?: string;
}

/** The name Lispix gives the binary beside a header: `x.rpl` → `x.raw`. */
export function rplRawName(rplName: string): string {
  return /\.rpl$/i.test(rplName) ? rplName.replace(/\.rpl$/i, (m) => (m === '.RPL' ? '.RAW' : '.raw')) : `${rplName}.raw`;
}

/**
 * Reads a ripple pair: the .rpl header (bytes or text) and the .raw binary.
 * @param name the .rpl file name (used in messages and as `source`)
 */
export function readRpl(header: Bytes | string, rawBytes: Bytes, name = 'input.rpl', options: RplReadOptions = {}): Cube {
  const rplName = baseName(name);
  const rawName = options.rawName ? baseName(options.rawName) : rplRawName(rplName);
  const text = typeof header === 'string' ? header : new TextDecoder('latin1').decode(asBytes(header));
  const h = parseRplHeader(text, rplName);
  const raw = asBytes(rawBytes);
  const { width: cols, height: rows, depth: channels, dataLength, dataType } = h;
  const count = rows * cols * channels;
  const need = h.offset + count * dataLength;
  if (raw.byteLength < need) {
    fail(
      rawName,
      `the .raw holds ${raw.byteLength} bytes but ${rplName} describes ${h.offset} header bytes + ` +
        `${rows} × ${cols} × ${channels} values of ${dataLength} byte(s) = ${need} bytes; the file is ` +
        'truncated or belongs to another header.',
    );
  }
  const little = h.byteOrder !== 'big-endian';
  const view = new DataView(raw.buffer, raw.byteOffset + h.offset, count * dataLength);
  const exact32 = dataLength <= 2 || (dataType === 'float' && dataLength === 4);
  const data: Float32Array | Float64Array = exact32 ? new Float32Array(count) : new Float64Array(count);
  const read = reader(view, dataType, dataLength, little);
  for (let i = 0; i < count; i++) {
    const v = read(i);
    if (typeof v === 'bigint') {
      const f = Number(v);
      if (!Number.isSafeInteger(f)) {
        fail(rawName, `value ${v} at element ${i} is beyond ±2^53 and cannot be held exactly as a float64.`);
      }
      data[i] = f;
    } else data[i] = v;
  }
  const ordered = h.recordBy === 'image' ? moveAxisToLast(data, [channels, rows, cols], 0) : data;

  const r = h.raw;
  const signalAxis = axisFrom(r, 'depth', 'Energy', channels, false);
  if (r['depth-scale'] === undefined && num(r, 'ev-per-chan') !== undefined) {
    signalAxis.scale = num(r, 'ev-per-chan')!;
    signalAxis.units = 'eV';
  }
  const known = new Set([
    'width', 'height', 'depth', 'offset', 'data-length', 'data-type', 'byte-order', 'record-by',
  ]);
  const metadata: Record<string, unknown> = { format: 'ripple', rawFile: rawName };
  for (const [k, v] of Object.entries(r)) if (!known.has(k)) metadata[k] = v;
  if (raw.byteLength > need) metadata['trailingBytes'] = raw.byteLength - need;
  return checkCube({
    data: ordered,
    rows,
    cols,
    channels,
    signalAxis,
    navigationAxes: [axisFrom(r, 'height', 'y', rows, true), axisFrom(r, 'width', 'x', cols, true)],
    title: r['title'] || undefined,
    source: rplName,
    metadata,
  });
}

function reader(
  view: DataView,
  type: RplHeader['dataType'],
  len: number,
  little: boolean,
): (i: number) => number | bigint {
  if (type === 'float') return len === 4 ? (i) => view.getFloat32(4 * i, little) : (i) => view.getFloat64(8 * i, little);
  if (type === 'signed') {
    switch (len) {
      case 1: return (i) => view.getInt8(i);
      case 2: return (i) => view.getInt16(2 * i, little);
      case 4: return (i) => view.getInt32(4 * i, little);
      default: return (i) => view.getBigInt64(8 * i, little);
    }
  }
  switch (len) {
    case 1: return (i) => view.getUint8(i);
    case 2: return (i) => view.getUint16(2 * i, little);
    case 4: return (i) => view.getUint32(4 * i, little);
    default: return (i) => view.getBigUint64(8 * i, little);
  }
}
