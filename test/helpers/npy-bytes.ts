/** Hand-made .npy files, in any dtype, byte order and memory order (for the readers' tests). */

/** Builds a .npy file from a header dict literal and raw data bytes, as numpy lays it out. */
export function npyBytes(dict: string, data: Uint8Array, version: 1 | 2 | 3 = 1): Uint8Array {
  const enc = version === 3 ? new TextEncoder().encode(dict) : Uint8Array.from(dict, (c) => c.charCodeAt(0));
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + enc.length + 1) / 64) * 64;
  const hlen = total - pre;
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, hlen, true);
  else dv.setUint32(8, hlen, true);
  out.set(enc, pre);
  out.fill(0x20, pre + enc.length, total - 1);
  out[total - 1] = 0x0a;
  out.set(data, total);
  return out;
}

export const header = (descr: string, shape: number[], fortran = false) =>
  `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;

export type Kind = 'f' | 'i' | 'u' | 'b';
/** Raw bytes of `values` as dtype kind+size in the given byte order. */
export function raw(values: number[], kind: Kind, size: number, little: boolean): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    if (kind === 'b') dv.setUint8(o, v ? 1 : 0);
    else if (kind === 'f' && size === 8) dv.setFloat64(o, v, little);
    else if (kind === 'f' && size === 4) dv.setFloat32(o, v, little);
    else if (kind === 'f' && size === 2) dv.setUint16(o, toHalf(v), little);
    else if (size === 1) kind === 'i' ? dv.setInt8(o, v) : dv.setUint8(o, v);
    else if (size === 2) kind === 'i' ? dv.setInt16(o, v, little) : dv.setUint16(o, v, little);
    else if (size === 4) kind === 'i' ? dv.setInt32(o, v, little) : dv.setUint32(o, v, little);
    else kind === 'i' ? dv.setBigInt64(o, BigInt(v), little) : dv.setBigUint64(o, BigInt(v), little);
  });
  return out;
}

/** float16 bits of small exactly representable values (enough for the test values). */
export function toHalf(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const frac = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | frac;
}
