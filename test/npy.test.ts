import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMatrixNpy, encodeNpy, parseNpy, readNpyView } from '../src/io/npy.js';
import { readNpyFile, writeNpyFile } from '../src/io/npy-node.js';
import { StagedOutputDir, writeFileAtomic } from '../src/io/atomic.js';
import { WebnmfError } from '../src/errors.js';
import { header, npyBytes, raw, type Kind } from './helpers/npy-bytes.js';

const expectInputError = (fn: () => unknown, ...patterns: RegExp[]) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WebnmfError);
  expect((err as WebnmfError).kind).toBe('input');
  for (const p of patterns) expect((err as WebnmfError).message).toMatch(p);
  return err as WebnmfError;
};

// A 2 × 3 array in C order and its Fortran-order storage.
const C23 = [1, 2, 3, 4, 5, 6]; // [[1,2,3],[4,5,6]]
const F23 = [1, 4, 2, 5, 3, 6];

const DTYPES: { code: string; kind: Kind; size: number; values: number[] }[] = [
  { code: 'f2', kind: 'f', size: 2, values: [0.5, -2, 3, 1024, 0.25, -0.125] },
  { code: 'f4', kind: 'f', size: 4, values: [0.5, -2.25, 3e10, 1e-20, 7, -0] },
  { code: 'f8', kind: 'f', size: 8, values: [Math.PI, -1e300, 5e-324, 0.1, 42, -7.5] },
  { code: 'i1', kind: 'i', size: 1, values: [-128, 127, 0, -1, 5, 100] },
  { code: 'i2', kind: 'i', size: 2, values: [-32768, 32767, 0, -1, 500, 1000] },
  { code: 'i4', kind: 'i', size: 4, values: [-2147483648, 2147483647, 0, -1, 70000, 3] },
  { code: 'i8', kind: 'i', size: 8, values: [-(2 ** 53), 2 ** 53, 0, -1, 2 ** 40 + 3, -(2 ** 33) - 1] },
  { code: 'u1', kind: 'u', size: 1, values: [0, 255, 1, 2, 3, 128] },
  { code: 'u2', kind: 'u', size: 2, values: [0, 65535, 1, 2, 3, 40000] },
  { code: 'u4', kind: 'u', size: 4, values: [0, 4294967295, 1, 2, 3, 3000000000] },
  { code: 'u8', kind: 'u', size: 8, values: [0, 2 ** 53, 1, 2 ** 32, 2 ** 32 + 7, 12345] },
  { code: 'b1', kind: 'b', size: 1, values: [1, 0, 0, 1, 1, 0] },
];

/** One case per dtype × byte order × memory order: the 2 × 3 array as a .npy file. */
const CASES = DTYPES.flatMap((dt) =>
  (dt.size === 1 ? ['|', '<', '>', '='] : ['<', '>', '=']).flatMap((bo) =>
    [false, true].map((fortran) => {
      // values[i] is element i in C order; store them in the file's order.
      const stored = (fortran ? F23 : C23).map((v) => dt.values[v - 1]!);
      const bytes = () => npyBytes(header(`${bo}${dt.code}`, [2, 3], fortran), raw(stored, dt.kind, dt.size, bo !== '>'));
      return { dt, bo, fortran, bytes, label: `${bo}${dt.code} ${fortran ? 'Fortran' : 'C'} order` };
    }),
  ),
);

describe('parseNpy: dtypes × byte orders × memory orders', () => {
  for (const { dt, bo, fortran, bytes, label } of CASES) {
    it(label, () => {
      const arr = parseNpy(bytes(), 'x.npy');
      expect(arr.shape).toEqual([2, 3]);
      expect(arr.dtype).toBe(`${bo}${dt.code}`);
      expect(arr.fortranOrder).toBe(fortran);
      const want = dt.kind === 'f' && dt.size === 4 ? dt.values.map(Math.fround) : dt.values;
      expect(Array.from(arr.data)).toEqual(want);
    });
  }

  it("accepts numpy's '?' spelling of bool", () => {
    const arr = parseNpy(npyBytes(header('|?', [3]), Uint8Array.from([0, 1, 2])));
    expect(Array.from(arr.data)).toEqual([0, 1, 1]);
  });

  it('reorders 3-D Fortran data into C order', () => {
    // shape (2, 3, 4): C value at (i, j, l) = 100 i + 10 j + l; Fortran stores i fastest.
    const stored: number[] = [];
    for (let l = 0; l < 4; l++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) stored.push(100 * i + 10 * j + l);
    const arr = parseNpy(npyBytes(header('<f8', [2, 3, 4], true), raw(stored, 'f', 8, true)));
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let l = 0; l < 4; l++) want.push(100 * i + 10 * j + l);
    expect(Array.from(arr.data)).toEqual(want);
  });

  it('reads float16 specials', () => {
    const arr = parseNpy(npyBytes(header('<f2', [4]), Uint8Array.from([0x00, 0x7c, 0x00, 0xfc, 0x01, 0x7e, 0x01, 0x00])));
    expect(arr.data[0]).toBe(Infinity);
    expect(arr.data[1]).toBe(-Infinity);
    expect(Number.isNaN(arr.data[2])).toBe(true);
    expect(arr.data[3]).toBe(2 ** -24);
  });

  it('reads scalars (shape ()) and empty arrays', () => {
    const s = parseNpy(npyBytes(`{'descr': '<f8', 'fortran_order': False, 'shape': (), }`, raw([2.5], 'f', 8, true)));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data)).toEqual([2.5]);
    const z = parseNpy(npyBytes(header('<f8', [0, 5]), new Uint8Array()));
    expect(z.shape).toEqual([0, 5]);
    expect(z.data.length).toBe(0);
  });

  it('reads headers of versions 1.0, 2.0 and 3.0 (utf8), in any key order and quoting', () => {
    const data = raw(C23, 'f', 8, true);
    for (const v of [1, 2, 3] as const) {
      const arr = parseNpy(npyBytes(header('<f8', [2, 3]), data, v));
      expect(arr.version).toBe(`${v}.0`);
      expect(Array.from(arr.data)).toEqual(C23);
    }
    const odd = `{"shape": (6,), "fortran_order": False, "descr": "<f8"}`;
    expect(Array.from(parseNpy(npyBytes(odd, data)).data)).toEqual(C23);
    // A version 3.0 header with a non-latin1 character in a (harmless) extra key.
    const utf = `{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'note': 'µ→λ', }`;
    expect(Array.from(parseNpy(npyBytes(utf, data, 3)).data)).toEqual(C23);
  });

  it('reads a file numpy wrote (the shared ESPM fixture shape_2d.npy, int64)', () => {
    const arr = readNpyFile(fileURLToPath(new URL('../../shared/fixtures/espm-toy/shape_2d.npy', import.meta.url)));
    expect(arr.dtype).toBe('<i8');
    expect(Array.from(arr.data)).toEqual([100, 100]);
  });
});

describe('readNpyView: the dtype and memory order of the file, without a float64 copy', () => {
  // The typed array each dtype keeps; float16, (u)int64 and bool have none and become float64.
  const TYPE: Record<string, string> = {
    f2: 'Float64Array', f4: 'Float32Array', f8: 'Float64Array', i1: 'Int8Array', i2: 'Int16Array', i4: 'Int32Array',
    i8: 'Float64Array', u1: 'Uint8Array', u2: 'Uint16Array', u4: 'Uint32Array', u8: 'Float64Array', b1: 'Float64Array',
  };
  for (const { dt, fortran, bytes: make, label } of CASES) {
    it(label, () => {
      const bytes = make();
      const before = bytes.slice();
      const v = readNpyView(bytes, 'x.npy');
      expect(v.values.constructor.name).toBe(TYPE[dt.code]);
      expect(v.shape).toEqual([2, 3]);
      expect(v.strides).toEqual(fortran ? [1, 2] : [3, 1]);
      expect(v.fortranOrder).toBe(fortran);
      // Element (i, j) through the strides is the C-order value parseNpy gives.
      const want = parseNpy(bytes, 'x.npy').data;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expect(v.values[i * v.strides[0]! + j * v.strides[1]!]).toBe(want[i * 3 + j]);
      // A byte-swapped read works on a copy: the caller's bytes are untouched.
      expect(bytes).toEqual(before);
    });
  }

  it('is a view over the bytes when they are in the host order and aligned, a copy otherwise', () => {
    const file = npyBytes(header('<u2', [6]), raw(C23, 'u', 2, true));
    const view = readNpyView(file);
    expect(view.values.buffer).toBe(file.buffer);
    expect(Array.from(view.values)).toEqual(C23);
    // The same file one byte into a larger buffer: its data is misaligned for a Uint16Array.
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const copy = readNpyView(shifted.subarray(1));
    expect(copy.values.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copy.values)).toEqual(C23);
    expect(readNpyView(npyBytes(header('>u2', [6]), raw(C23, 'u', 2, false))).values).toBeInstanceOf(Uint16Array);
  });

  it('gives 3-D Fortran strides (first axis fastest)', () => {
    const stored: number[] = [];
    for (let l = 0; l < 4; l++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) stored.push(100 * i + 10 * j + l);
    const v = readNpyView(npyBytes(header('<f4', [2, 3, 4], true), raw(stored, 'f', 4, true)));
    expect(v.strides).toEqual([1, 2, 6]);
    expect(v.values[1 * 1 + 2 * 2 + 3 * 6]).toBe(123);
    expect(readNpyView(npyBytes(header('<f4', [2, 3, 4]), raw(stored, 'f', 4, true))).strides).toEqual([12, 4, 1]);
  });

  it("parseNpy's data is the caller's own copy even where readNpyView would be a view", () => {
    const file = npyBytes(header('<f8', [6]), raw(C23, 'f', 8, true));
    const arr = parseNpy(file);
    expect(arr.data.buffer).not.toBe(file.buffer);
    expect(Array.from(arr.data)).toEqual(C23);
  });

  it('fails like parseNpy on bad input', () => {
    const good = npyBytes(header('<f8', [2, 3]), raw(C23, 'f', 8, true));
    expectInputError(() => readNpyView(good.subarray(0, good.length - 8), 'cut.npy'), /^cut\.npy: truncated/, /needs 48 data bytes/);
    expectInputError(() => readNpyView(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'x.npy'), /not a \.npy file/);
    const big = npyBytes(header('<i8', [1]), raw([0], 'i', 8, true));
    new DataView(big.buffer).setBigInt64(big.length - 8, 2n ** 60n, true);
    expectInputError(() => readNpyView(big, 'big.npy'), /element 0 .* beyond ±2\^53/);
  });
});

describe('parseNpy: errors name the file, the problem and the fix', () => {
  const good = npyBytes(header('<f8', [2, 3]), raw(C23, 'f', 8, true));

  it('bad magic', () => {
    expectInputError(() => parseNpy(new TextEncoder().encode('hello, world, this is text'), 'data.npy'), /data\.npy/, /not a \.npy file/, /numpy\.save/);
    expectInputError(() => parseNpy(new Uint8Array(), 'empty.npy'), /empty\.npy/, /not a \.npy file/);
  });

  it('unsupported version', () => {
    const b = good.slice();
    b[6] = 9;
    expectInputError(() => parseNpy(b, 'v.npy'), /v\.npy/, /version 9\.0/);
  });

  it('truncated header', () => {
    expectInputError(() => parseNpy(good.subarray(0, 9), 't.npy'), /t\.npy/, /truncated/);
    expectInputError(() => parseNpy(good.subarray(0, 40), 't.npy'), /t\.npy/, /truncated/, /header/);
  });

  it('truncated data', () => {
    const e = expectInputError(() => parseNpy(good.subarray(0, good.length - 8), 'cut.npy'), /cut\.npy/, /truncated/);
    expect(e.message).toMatch(/needs 48 data bytes but the file has only 40/);
  });

  it('trailing bytes (the shape does not describe the data)', () => {
    const b = new Uint8Array(good.length + 8);
    b.set(good);
    expectInputError(() => parseNpy(b, 'long.npy'), /long\.npy/, /8 unexpected bytes/);
  });

  it('object arrays', () => {
    expectInputError(() => parseNpy(npyBytes(header('|O', [2]), new Uint8Array(16)), 'obj.npy'), /obj\.npy/, /object arrays/, /'\|O'/, /float64/);
  });

  it('structured and other unsupported dtypes list what is supported', () => {
    const structured = `{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }`;
    expectInputError(() => parseNpy(npyBytes(structured, new Uint8Array(24)), 's.npy'), /s\.npy/, /structured/, /Supported dtypes: float16/);
    for (const d of ['<c16', '<U5', '|S3', '<M8', '<f16', '<i3', '|V8']) {
      expectInputError(() => parseNpy(npyBytes(header(d, [1]), new Uint8Array(16)), 'u.npy'), /u\.npy/, new RegExp(`dtype '${d.replace('|', '\\|')}'`), /Supported dtypes/);
    }
    expectInputError(() => parseNpy(npyBytes(header('|f8', [1]), new Uint8Array(8)), 'u.npy'), /no byte order/);
  });

  it('int64 beyond 2^53 is an error, not a silent rounding', () => {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, 5n, true);
    dv.setBigInt64(8, 2n ** 53n + 1n, true);
    expectInputError(() => parseNpy(npyBytes(header('<i8', [2]), b), 'big.npy'), /big\.npy/, /element 1 \(9007199254740993\)/, /2\^53/);
    dv.setBigInt64(8, -(2n ** 53n) - 1n, true);
    expectInputError(() => parseNpy(npyBytes(header('<i8', [2]), b), 'big.npy'), /-9007199254740993/);
    dv.setBigUint64(0, 5n, false);
    dv.setBigUint64(8, 2n ** 64n - 1n, false);
    expectInputError(() => parseNpy(npyBytes(header('>u8', [2]), b), 'big.npy'), /18446744073709551615/);
  });

  it('corrupt headers', () => {
    const cases = [
      `{'descr': '<f8', 'fortran_order': False}`, // no shape
      `{'descr': '<f8', 'fortran_order': 'no', 'shape': (6,)}`,
      `{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}`,
      `{'descr': '<f8', 'fortran_order': False, 'shape': (6,`,
      `[1, 2]`,
      `{'descr': '<f8' 'fortran_order': False, 'shape': (6,)}`,
    ];
    for (const c of cases) expectInputError(() => parseNpy(npyBytes(c, raw(C23, 'f', 8, true)), 'h.npy'), /h\.npy/, /corrupt|not a valid/);
  });

  it('a missing file and a directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webnmf-npy-'));
    try {
      expectInputError(() => readNpyFile(path.join(dir, 'nope.npy')), /nope\.npy/, /no such file/);
      expectInputError(() => readNpyFile(dir), /directory/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encodeNpy', () => {
  it('writes float64 with a 64-byte aligned v1.0 header exactly as numpy does', () => {
    const b = encodeNpy({ shape: [2, 3], data: new Float64Array(C23) });
    expect(Array.from(b.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hlen = b[8]! | (b[9]! << 8);
    expect((10 + hlen) % 64).toBe(0);
    const text = new TextDecoder('latin1').decode(b.subarray(10, 10 + hlen));
    expect(text).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(b.length).toBe(10 + hlen + 48);
    const back = parseNpy(b);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual(C23);
  });

  it('writes float32 (from a Float32Array or on request), 1-D and scalar shapes', () => {
    const a = parseNpy(encodeNpy({ shape: [3], data: new Float32Array([0.1, 2, -3]) }));
    expect(a.dtype).toBe('<f4');
    expect(Array.from(a.data)).toEqual([Math.fround(0.1), 2, -3]);
    const b = parseNpy(encodeNpy({ shape: [3], data: [0.1, 2, -3] }, { dtype: 'float32' }));
    expect(b.dtype).toBe('<f4');
    const s = parseNpy(encodeNpy({ shape: [], data: [7] }));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data)).toEqual([7]);
  });

  it('round-trips special values bit for bit', () => {
    const vals = [NaN, Infinity, -Infinity, -0, 5e-324, Number.MAX_VALUE];
    const back = parseNpy(encodeMatrixNpy({ rows: 2, cols: 3, data: vals }));
    expect(Array.from(back.data)).toEqual(vals);
    expect(Object.is(back.data[3], -0)).toBe(true);
  });

  it('switches to a v2.0 header when the header exceeds 65535 bytes', () => {
    const shape = Array.from({ length: 25000 }, () => 1);
    const b = encodeNpy({ shape, data: [3.5] });
    expect(b[6]).toBe(2);
    const back = parseNpy(b);
    expect(back.version).toBe('2.0');
    expect(back.shape.length).toBe(25000);
    expect(Array.from(back.data)).toEqual([3.5]);
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: [1, 2, 3] })).toThrow(/holds 4 values but the data has 3/);
  });
});

describe('file helpers', () => {
  it('writeNpyFile / readNpyFile round trip, atomically, leaving no temp files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webnmf-npy-'));
    try {
      const f = path.join(dir, 'a.npy');
      writeNpyFile(f, { shape: [3, 2], data: new Float64Array([1, 2, 3, 4, 5, 6]) });
      expect(fs.readdirSync(dir)).toEqual(['a.npy']);
      const back = readNpyFile(f);
      expect(back.shape).toEqual([3, 2]);
      expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(() => writeFileAtomic(path.join(dir, 'missing-dir', 'b.npy'), new Uint8Array(3))).toThrow(/cannot write .*b\.npy/);
      expect(fs.readdirSync(dir)).toEqual(['a.npy']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('StagedOutputDir: files appear only on commit; abort leaves nothing', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'webnmf-stage-'));
    try {
      const out = path.join(root, 'out');
      const s = new StagedOutputDir(out);
      s.write('a.txt', 'hello');
      s.write('b.bin', new Uint8Array([1, 2]));
      expect(fs.existsSync(out)).toBe(false);
      s.commit();
      expect(fs.readdirSync(out).sort()).toEqual(['a.txt', 'b.bin']);
      expect(fs.readdirSync(root)).toEqual(['out']);
      // Into an existing directory: files are moved in, others are kept.
      const s2 = new StagedOutputDir(out);
      s2.write('c.txt', 'c');
      s2.commit();
      expect(fs.readdirSync(out).sort()).toEqual(['a.txt', 'b.bin', 'c.txt']);
      const s3 = new StagedOutputDir(path.join(root, 'never'));
      s3.write('x.txt', 'x');
      s3.abort();
      expect(fs.readdirSync(root)).toEqual(['out']);
      expect(() => s3.write('y.txt', 'y')).toThrow(/already committed or aborted/);
      fs.writeFileSync(path.join(root, 'file'), 'x');
      expect(() => new StagedOutputDir(path.join(root, 'file'))).toThrow(/not a directory/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
