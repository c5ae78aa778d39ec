/**
 * A tiny uncompressed multi-page TIFF encoder for tests: one strip per page, greyscale,
 * 8/16-bit unsigned or signed integers or 32-bit floats, little or big endian, an optional
 * ImageDescription on the first page and optional reduced-resolution (thumbnail) pages.
 */
export interface TiffPage {
  width: number;
  height: number;
  /** Row-major values. */
  data: ArrayLike<number>;
  /** Reduced-resolution page (NewSubfileType = 1). */
  thumbnail?: boolean;
}

export interface TiffEncodeOptions {
  bits: 8 | 16 | 32;
  /** 1 unsigned integer (default for 8/16), 2 signed integer, 3 float (default for 32). */
  sampleFormat?: 1 | 2 | 3;
  littleEndian?: boolean;
  description?: string;
}

const SHORT = 3;
const LONG = 4;
const ASCII = 2;

export function encodeTiff(pages: TiffPage[], options: TiffEncodeOptions): Uint8Array {
  const le = options.littleEndian ?? true;
  const bits = options.bits;
  const fmt = options.sampleFormat ?? (bits === 32 ? 3 : 1);
  const bps = bits / 8;
  const desc = options.description !== undefined ? new TextEncoder().encode(`${options.description}\0`) : undefined;
  // Size: header + per page (data + IFD with up to 12 entries) + description.
  const ifdSize = (n: number) => 2 + n * 12 + 4;
  let total = 8;
  for (const p of pages) total += p.width * p.height * bps + ifdSize(12) + 2;
  total += desc ? desc.length + 2 : 0;
  const buf = new ArrayBuffer(total);
  const dv = new DataView(buf);
  const u8 = new Uint8Array(buf);
  u8[0] = u8[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  let pos = 8;
  let descOffset = 0;
  if (desc) {
    descOffset = pos;
    u8.set(desc, pos);
    pos += desc.length + (desc.length % 2);
  }
  let prevNext = 4; // where to write the offset of the next IFD
  pages.forEach((p, pi) => {
    const dataOffset = pos;
    for (let i = 0; i < p.width * p.height; i++) {
      const v = p.data[i]!;
      const o = dataOffset + i * bps;
      if (bits === 8) fmt === 2 ? dv.setInt8(o, v) : dv.setUint8(o, v);
      else if (bits === 16) fmt === 2 ? dv.setInt16(o, v, le) : dv.setUint16(o, v, le);
      else dv.setFloat32(o, v, le);
    }
    pos += p.width * p.height * bps;
    pos += pos % 2;
    const entries: Array<[number, number, number, number]> = []; // tag, type, count, value
    if (p.thumbnail) entries.push([254, LONG, 1, 1]);
    entries.push([256, LONG, 1, p.width]);
    entries.push([257, LONG, 1, p.height]);
    entries.push([258, SHORT, 1, bits]);
    entries.push([259, SHORT, 1, 1]);
    entries.push([262, SHORT, 1, 1]);
    if (desc && pi === 0) entries.push([270, ASCII, desc.length, descOffset]);
    entries.push([273, LONG, 1, dataOffset]);
    entries.push([277, SHORT, 1, 1]);
    entries.push([278, LONG, 1, p.height]);
    entries.push([279, LONG, 1, p.width * p.height * bps]);
    entries.push([339, SHORT, 1, fmt]);
    const ifd = pos;
    dv.setUint32(prevNext, ifd, le);
    dv.setUint16(pos, entries.length, le);
    pos += 2;
    for (const [tag, type, count, value] of entries) {
      dv.setUint16(pos, tag, le);
      dv.setUint16(pos + 2, type, le);
      dv.setUint32(pos + 4, count, le);
      if (type === SHORT) dv.setUint16(pos + 8, value, le);
      else dv.setUint32(pos + 8, value, le);
      pos += 12;
    }
    prevNext = pos;
    dv.setUint32(pos, 0, le);
    pos += 4;
  });
  return u8.subarray(0, pos);
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
