import { describe, expect, it } from 'vitest';
import { WebnmfError } from '../../src/errors.js';
import { parseRplHeader, readRpl } from '../../src/io/readers/rpl.js';
import { cubeToMatrix } from '../../src/io/readers/cube.js';
import { fixtureBytes } from './fixtures.js';

const U16 = 'ripple/test_ripple_sdim-1_ndim-2_uint16';
const F32 = 'ripple/test_ripple_sdim-1_ndim-2_float32_meta';

const header = (over: Record<string, string> = {}) => {
  const h: Record<string, string> = {
    width: '3', height: '2', depth: '4', offset: '0', 'data-length': '2', 'data-type': 'unsigned',
    'byte-order': 'little-endian', 'record-by': 'vector', ...over,
  };
  return `key\tvalue\n${Object.entries(h).map(([k, v]) => `${k}\t${v}`).join('\n')}\n`;
};

describe('ripple (.rpl + .raw) — real RosettaSciIO fixtures', () => {
  it('reads the uint16 pair: 2 × 3 navigation, 4 channels, values 0..23 in vector order', () => {
    const c = readRpl(fixtureBytes(`${U16}.rpl`), fixtureBytes(`${U16}.raw`), 'test_ripple_sdim-1_ndim-2_uint16.rpl');
    expect([c.rows, c.cols, c.channels, c.slices]).toEqual([2, 3, 4, undefined]);
    expect(c.data).toBeInstanceOf(Float32Array);
    expect(Array.from(c.data)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(c.signalAxis).toEqual({ name: 'Energy', size: 4, offset: 1.5, scale: 300, units: 'eV', navigate: false });
    expect(c.navigationAxes).toEqual([
      { name: 'y', size: 2, offset: 0.5, scale: 100, units: 'm', navigate: true },
      { name: 'x', size: 3, offset: 1, scale: 200, units: 'm', navigate: true },
    ]);
    expect(c.source).toBe('test_ripple_sdim-1_ndim-2_uint16.rpl');
    expect(c.metadata?.['signal']).toBe('EELS');
  });

  it('reads the float32 pair with its meta header; same data as the uint16 file', () => {
    const u = readRpl(fixtureBytes(`${U16}.rpl`), fixtureBytes(`${U16}.raw`), 'u.rpl');
    const f = readRpl(fixtureBytes(`${F32}.rpl`), fixtureBytes(`${F32}.raw`), 'f.rpl');
    expect([f.rows, f.cols, f.channels]).toEqual([2, 3, 4]);
    expect(Array.from(f.data)).toEqual(Array.from(u.data));
    expect(f.title).toBe('Test title');
    expect(f.signalAxis.units).toBe('eV');
    expect(f.signalAxis.scale).toBe(300);
    expect(f.metadata?.['beam-energy']).toBe('100.0');
    // cubeToMatrix: X[ch, r*cols + c] = cube[r, c, ch]
    const { X, shape } = cubeToMatrix(f);
    expect(shape).toEqual({ rows: 2, cols: 3 });
    expect([X.rows, X.cols]).toEqual([4, 6]);
    expect(X.data[1 * 6 + 4]).toBe(4 * 4 + 1);
  });
});

describe('ripple — layouts and errors', () => {
  it('record-by image is transposed to rows × cols × channels; big-endian int16 and float64', () => {
    // channel-major planes: value = 100*ch + pixel
    const raw = new DataView(new ArrayBuffer(24 * 2));
    for (let ch = 0; ch < 4; ch++) for (let p = 0; p < 6; p++) raw.setInt16((ch * 6 + p) * 2, 100 * ch - p, false);
    const c = readRpl(header({ 'record-by': 'image', 'data-type': 'signed', 'byte-order': 'big-endian' }), new Uint8Array(raw.buffer), 'img.rpl');
    for (let p = 0; p < 6; p++) for (let ch = 0; ch < 4; ch++) expect(c.data[p * 4 + ch]).toBe(100 * ch - p);
    const raw64 = new Float64Array(24).map((_, i) => i + 0.25);
    const bytes = new Uint8Array(8 + raw64.byteLength);
    bytes.set(new Uint8Array(raw64.buffer), 8);
    const d = readRpl(header({ 'data-type': 'float', 'data-length': '8', offset: '8' }), bytes, 'f64.rpl');
    expect(d.data).toBeInstanceOf(Float64Array);
    expect(d.data[23]).toBe(23.25);
  });

  it('a truncated .raw names the file, the sizes and the fix', () => {
    const raw = fixtureBytes(`${U16}.raw`).subarray(0, 40);
    expect(() => readRpl(fixtureBytes(`${U16}.rpl`), raw, 'u.rpl')).toThrowError(/u\.raw: the \.raw holds 40 bytes but u\.rpl describes .* = 48 bytes; the file is truncated/);
  });

  it('missing or bad header keys are input errors', () => {
    expect(() => parseRplHeader('width\t3\nheight\t2\n', 'h.rpl')).toThrowError(/h\.rpl: the ripple header has no 'depth' line/);
    expect(() => parseRplHeader(header({ 'data-type': 'complex' }), 'h.rpl')).toThrowError(/data-type is 'complex'; expected one of signed, unsigned, float/);
    expect(() => parseRplHeader(header({ 'data-type': 'float', 'data-length': '2' }), 'h.rpl')).toThrowError(/not a number type/);
    expect(() => parseRplHeader(header({ width: '-1' }), 'h.rpl')).toThrowError(/width is '-1'/);
    try {
      readRpl(fixtureBytes(`${U16}.raw`), fixtureBytes(`${U16}.raw`), 'swapped.rpl');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WebnmfError);
      expect((e as WebnmfError).kind).toBe('input');
      expect((e as Error).message).toMatch(/swapped\.rpl: the ripple header contains binary data/);
    }
  });
});
