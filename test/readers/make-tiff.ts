/**
 * A small multi-page TIFF encoder for tests: greyscale (or multi-sample, to test the refusal),
 * 8/16/32-bit unsigned or signed integers or 32/64-bit floats, little or big endian, uncompressed,
 * LZW or Deflate, with or without a predictor, one or several strips per page, an optional
 * ImageDescription and XResolution on the first page and optional reduced-resolution pages.
 */
import { zlibSync } from 'fflate';

export interface TiffPage {
  width: number;
  height: number;
  /** Row-major values (samplesPerPixel interleaved values per pixel). */
  data: ArrayLike<number>;
  /** Reduced-resolution page (NewSubfileType = 1). */
  thumbnail?: boolean;
  /** Samples per pixel (default 1); 3 makes an RGB page. */
  samplesPerPixel?: number;
}

export interface TiffEncodeOptions {
  bits: 8 | 16 | 32 | 64;
  /** 1 unsigned integer (default for 8/16), 2 signed integer, 3 float (default for 32/64). */
  sampleFormat?: 1 | 2 | 3;
  littleEndian?: boolean;
  description?: string;
  /** Pixels per unit (with an ImageJ `unit=` line this calibrates x and y). */
  xResolution?: number;
  compression?: 'none' | 'lzw' | 'deflate';
  /** 2 horizontal differencing (integers), 3 floating-point (byte planes); little endian only. */
  predictor?: 2 | 3;
  /** Rows per strip (default: the whole page in one strip). */
  rowsPerStrip?: number;
}

const ASCII = 2;
const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
const COMPRESSION = { none: 1, lzw: 5, deflate: 8 } as const;

type Entry = { tag: number; type: number; values: number[] | Uint8Array };

/** Appends bytes and hands back their offsets; the file is assembled at the end. */
class ByteSink {
  chunks: Uint8Array[] = [];
  length = 0;
  put(bytes: Uint8Array): number {
    const at = this.length;
    // TIFF offsets are word aligned: odd-length data gets a padding byte.
    const padded = bytes.length % 2 ? [bytes, new Uint8Array(1)] : [bytes];
    for (const b of padded) {
      this.chunks.push(b);
      this.length += b.length;
    }
    return at;
  }
  bytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export function encodeTiff(pages: TiffPage[], options: TiffEncodeOptions): Uint8Array<ArrayBuffer> {
  const le = options.littleEndian ?? true;
  const fmt = options.sampleFormat ?? (options.bits >= 32 ? 3 : 1);
  if (options.predictor && !le) throw new Error('encodeTiff: predictors are written little endian only');
  const sink = new ByteSink();
  sink.put(new Uint8Array(8)); // header, filled in below
  const ifdOffsets = pages.map((p, i) => writePage(sink, p, i === 0, options, fmt, le));
  const out = sink.bytes();
  const dv = new DataView(out.buffer);
  out[0] = out[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, ifdOffsets[0] ?? 0, le);
  // Chain the IFDs: each one's last 4 bytes point at the next.
  ifdOffsets.forEach((at, i) => {
    const n = dv.getUint16(at, le);
    dv.setUint32(at + 2 + n * 12, ifdOffsets[i + 1] ?? 0, le);
  });
  return out;
}

/** Writes one page's strips and IFD; returns the IFD's offset. */
function writePage(sink: ByteSink, p: TiffPage, first: boolean, o: TiffEncodeOptions, fmt: number, le: boolean): number {
  const spp = p.samplesPerPixel ?? 1;
  const bps = o.bits / 8;
  const rowsPerStrip = Math.min(o.rowsPerStrip ?? p.height, p.height);
  const offsets: number[] = [];
  const counts: number[] = [];
  for (let y = 0; y < p.height; y += rowsPerStrip) {
    const h = Math.min(rowsPerStrip, p.height - y);
    const rowValues = p.width * spp;
    const raw = sampleBytes(Array.from(p.data).slice(y * rowValues, (y + h) * rowValues), o.bits, fmt, le);
    if (o.predictor === 2) differenceRows(raw, h, rowValues, bps);
    if (o.predictor === 3) floatPlanes(raw, h, rowValues, bps);
    const packed = compress(raw, o.compression ?? 'none');
    offsets.push(sink.put(packed));
    counts.push(packed.length);
  }
  const entries: Entry[] = [];
  if (p.thumbnail) entries.push({ tag: 254, type: LONG, values: [1] });
  entries.push({ tag: 256, type: LONG, values: [p.width] });
  entries.push({ tag: 257, type: LONG, values: [p.height] });
  entries.push({ tag: 258, type: SHORT, values: new Array<number>(spp).fill(o.bits) });
  entries.push({ tag: 259, type: SHORT, values: [COMPRESSION[o.compression ?? 'none']] });
  entries.push({ tag: 262, type: SHORT, values: [spp === 3 ? 2 : 1] });
  if (first && o.description !== undefined) entries.push({ tag: 270, type: ASCII, values: new TextEncoder().encode(`${o.description}\0`) });
  entries.push({ tag: 273, type: LONG, values: offsets });
  entries.push({ tag: 277, type: SHORT, values: [spp] });
  entries.push({ tag: 278, type: LONG, values: [rowsPerStrip] });
  entries.push({ tag: 279, type: LONG, values: counts });
  if (first && o.xResolution !== undefined) entries.push({ tag: 282, type: RATIONAL, values: [Math.round(o.xResolution * 1e6), 1e6] });
  if (o.predictor) entries.push({ tag: 317, type: SHORT, values: [o.predictor] });
  entries.push({ tag: 339, type: SHORT, values: new Array<number>(spp).fill(fmt) });
  return writeIfd(sink, entries, le);
}

const TYPE_SIZE: Record<number, number> = { [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [RATIONAL]: 4 };

/** An IFD with its next-IFD pointer 0; values over 4 bytes go out of line, before the IFD. */
function writeIfd(sink: ByteSink, entries: Entry[], le: boolean): number {
  const valueBytes = (e: Entry): Uint8Array => {
    if (e.values instanceof Uint8Array) return e.values;
    const size = TYPE_SIZE[e.type]!;
    const b = new Uint8Array(e.values.length * size);
    const dv = new DataView(b.buffer);
    e.values.forEach((v, i) => (size === 2 ? dv.setUint16(i * 2, v, le) : dv.setUint32(i * 4, v, le)));
    return b;
  };
  const fields = entries.map((e) => {
    const bytes = valueBytes(e);
    return { e, bytes, offset: bytes.length > 4 ? sink.put(bytes) : -1 };
  });
  const ifd = new Uint8Array(2 + entries.length * 12 + 4);
  const dv = new DataView(ifd.buffer);
  dv.setUint16(0, entries.length, le);
  fields.forEach(({ e, bytes, offset }, i) => {
    const at = 2 + i * 12;
    dv.setUint16(at, e.tag, le);
    dv.setUint16(at + 2, e.type, le);
    dv.setUint32(at + 4, e.type === RATIONAL ? e.values.length / 2 : e.values.length, le);
    if (offset >= 0) dv.setUint32(at + 8, offset, le);
    else ifd.set(bytes, at + 8);
  });
  return sink.put(ifd);
}

function sampleBytes(values: number[], bits: number, fmt: number, le: boolean): Uint8Array {
  const bps = bits / 8;
  const b = new Uint8Array(values.length * bps);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => {
    const o = i * bps;
    if (fmt === 3) bits === 64 ? dv.setFloat64(o, v, le) : dv.setFloat32(o, v, le);
    else if (bits === 8) fmt === 2 ? dv.setInt8(o, v) : dv.setUint8(o, v);
    else if (bits === 16) fmt === 2 ? dv.setInt16(o, v, le) : dv.setUint16(o, v, le);
    else fmt === 2 ? dv.setInt32(o, v, le) : dv.setUint32(o, v, le);
  });
  return b;
}

/** Predictor 2: each sample minus its left neighbour, in the sample's own width (wrapping). */
function differenceRows(raw: Uint8Array, rows: number, perRow: number, bps: number): void {
  const dv = new DataView(raw.buffer);
  const get = (o: number) => (bps === 1 ? dv.getUint8(o) : bps === 2 ? dv.getUint16(o, true) : dv.getUint32(o, true));
  const set = (o: number, v: number) => (bps === 1 ? dv.setUint8(o, v & 0xff) : bps === 2 ? dv.setUint16(o, v & 0xffff, true) : dv.setUint32(o, v >>> 0, true));
  for (let r = 0; r < rows; r++) {
    for (let i = perRow - 1; i > 0; i--) {
      const o = (r * perRow + i) * bps;
      set(o, get(o) - get(o - bps));
    }
  }
}

/** Predictor 3: per row, the bytes regrouped most significant plane first, then byte differences. */
function floatPlanes(raw: Uint8Array, rows: number, perRow: number, bps: number): void {
  const rowBytes = perRow * bps;
  for (let r = 0; r < rows; r++) {
    const row = raw.subarray(r * rowBytes, (r + 1) * rowBytes);
    const planes = new Uint8Array(rowBytes);
    for (let i = 0; i < perRow; i++) {
      for (let p = 0; p < bps; p++) planes[p * perRow + i] = row[i * bps + (bps - 1 - p)]!; // little endian: byte bps-1 is the MSB
    }
    for (let k = rowBytes - 1; k > 0; k--) planes[k] = (planes[k]! - planes[k - 1]!) & 0xff;
    row.set(planes);
  }
}

function compress(raw: Uint8Array, how: 'none' | 'lzw' | 'deflate'): Uint8Array {
  if (how === 'deflate') return zlibSync(raw);
  if (how === 'lzw') return lzw(raw);
  return raw;
}

/**
 * TIFF LZW (MSB-first codes, ClearCode 256, EOI 257). To stay with 9-bit codes, a ClearCode
 * restarts the table long before it would need 10 bits: valid TIFF LZW, and simple enough to
 * trust in a test.
 */
function lzw(input: Uint8Array): Uint8Array {
  const CLEAR = 256;
  const EOI = 257;
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  const emit = (code: number) => {
    acc = (acc << 9) | code;
    nbits += 9;
    while (nbits >= 8) {
      out.push((acc >>> (nbits - 8)) & 0xff);
      nbits -= 8;
    }
    acc &= (1 << nbits) - 1;
  };
  let table = new Map<string, number>();
  let next = 258;
  emit(CLEAR);
  let w = '';
  for (const byte of input) {
    const wc = `${w},${byte}`;
    if (w === '' || table.has(wc)) {
      w = w === '' ? `${byte}` : wc;
      continue;
    }
    emit(w.includes(',') ? table.get(w)! : Number(w));
    table.set(wc, next++);
    w = `${byte}`;
    if (next >= 400) {
      emit(Number(w)); // a single byte: w was just reset
      w = '';
      emit(CLEAR);
      table = new Map();
      next = 258;
    }
  }
  if (w !== '') emit(w.includes(',') ? table.get(w)! : Number(w));
  emit(EOI);
  if (nbits > 0) out.push((acc << (8 - nbits)) & 0xff);
  return new Uint8Array(out);
}

/** Pages for a rows × cols × channels cube (page c = channel c), optionally slices × … . */
export function cubePages(
  cube: ArrayLike<number>,
  rows: number,
  cols: number,
  channels: number,
  slices = 1,
): TiffPage[] {
  const pages: TiffPage[] = [];
  for (let z = 0; z < slices; z++) {
    for (let c = 0; c < channels; c++) {
      const data = new Array<number>(rows * cols);
      for (let i = 0; i < rows * cols; i++) data[i] = cube[(z * rows * cols + i) * channels + c]!;
      pages.push({ width: cols, height: rows, data });
    }
  }
  return pages;
}
