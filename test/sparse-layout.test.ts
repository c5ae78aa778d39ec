/**
 * The sparse layout of X (src/gpu/x-layout.ts `sparseChunk`, read by shaders/h_update.wgsl,
 * w_num.wgsl and loss.wgsl), decoded here word by word without a GPU: both halves (per pixel;
 * per segment and channel) must hold every nonzero count of the chunk exactly once, in order,
 * with the fill sentinel where X holds the fill value.
 */
import { describe, expect, test } from 'vitest';
import { fillRowsOf, sparseChunk } from '../src/gpu/x-layout.js';
import type { Matrix64 } from '../src/types.js';

const FILL = 0xffff;

function cube(n: number, p: number, seed: number): Matrix64 {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const data = new Float64Array(n * p);
  for (let j = 0; j < data.length; j++) data[j] = r() < 0.8 ? 0 : 0.5 * (1 + Math.floor(r() * 40));
  return { rows: n, cols: p, data };
}

/** X[i, p0 + q] for every (i, q) as the layout says, from one half or the other. */
function decode(words: Uint32Array, n: number, pc: number, pcPad: number, segLen: number, scale: number, fill: number, half: 'pixel' | 'segment'): Float64Array {
  const out = new Float64Array(n * pc);
  const value = (c: number) => (c === FILL ? fill : c * scale);
  const seen = new Set<number>();
  const put = (i: number, q: number, c: number) => {
    expect(i).toBeLessThan(n);
    expect(q).toBeLessThan(pc);
    expect(seen.has(i * pc + q), `entry (${i}, ${q}) twice`).toBe(false);
    seen.add(i * pc + q);
    out[i * pc + q] = value(c);
  };
  if (half === 'pixel') {
    const ent = words[0];
    for (let q = 0; q < pcPad; q++) {
      let last = -1;
      for (let e = words[4 + q]; e < words[5 + q]; e++) {
        const w = words[ent + e];
        const i = w >>> 16;
        expect(i, 'channels ascend within a pixel').toBeGreaterThan(last);
        last = i;
        put(i, q, w & 0xffff);
      }
    }
  } else {
    const offs = words[1];
    const ent = words[2];
    const nSeg = Math.ceil(pc / segLen);
    for (let s = 0; s < nSeg; s++) {
      for (let i = 0; i < n; i++) {
        for (let e = words[offs + s * n + i]; e < words[offs + s * n + i + 1]; e++) {
          const w = words[ent + e];
          put(i, s * segLen + (w >>> 16), w & 0xffff);
        }
      }
    }
  }
  return out;
}

describe('sparse X layout (sparseChunk)', () => {
  for (const [name, n, p, p0, pc, segLen] of [
    ['one chunk, partial last segment', 13, 70, 0, 70, 16],
    ['a middle chunk', 7, 100, 24, 40, 8],
    ['one pixel', 5, 1, 0, 1, 8],
  ] as const) {
    test(`${name}: both halves hold exactly the nonzero counts`, () => {
      const X = cube(n, p, n * 7 + p);
      const fill = 1e-14;
      for (let q = 0; q < p; q++) X.data[2 * p + q] = n > 2 ? fill : X.data[2 * p + q]; // an ε-filled channel
      const pcPad = Math.ceil(pc / 8) * 8;
      const words = sparseChunk(X, 0.5, fill, p0, pc, pcPad, segLen);
      expect(words.length % 4).toBe(0);
      let nnz = 0;
      const want = new Float64Array(n * pc);
      for (let i = 0; i < n; i++) {
        for (let q = 0; q < pc; q++) {
          want[i * pc + q] = X.data[i * p + p0 + q];
          if (want[i * pc + q] !== 0) nnz++;
        }
      }
      expect(words[4 + pcPad], 'per-pixel offsets end at nnz').toBe(nnz);
      expect(words[words[1] + Math.ceil(pc / segLen) * n], 'per-segment offsets end at nnz').toBe(nnz);
      expect(Array.from(decode(words, n, pc, pcPad, segLen, 0.5, fill, 'pixel'))).toEqual(Array.from(want));
      expect(Array.from(decode(words, n, pc, pcPad, segLen, 0.5, fill, 'segment'))).toEqual(Array.from(want));
    });
  }

  test("ESPM's ε-filled empty channels are found and left out; ε-filled pixels stay", () => {
    const n = 9;
    const p = 40;
    const fill = 1e-14;
    const X = cube(n, p, 3);
    for (const i of [0, 5]) for (let q = 0; q < p; q++) X.data[i * p + q] = fill; // empty channels
    for (let i = 0; i < n; i++) X.data[i * p + 7] = fill; // an empty pixel: every channel ε there
    const rows = fillRowsOf(X, fill)!;
    expect(Array.from(rows)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(fillRowsOf(X, 0), 'no fill value: nothing to find').toBeNull();
    expect(fillRowsOf(cube(n, p, 4), fill), 'no ε channel').toBeNull();
    const want = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let q = 0; q < p; q++) want[i * p + q] = rows[i] ? 0 : X.data[i * p + q];
    const words = sparseChunk(X, 0.5, fill, 0, p, p, 16, rows);
    expect(Array.from(decode(words, n, p, p, 16, 0.5, fill, 'pixel'))).toEqual(Array.from(want));
    expect(Array.from(decode(words, n, p, p, 16, 0.5, fill, 'segment'))).toEqual(Array.from(want));
    expect(want[1 * p + 7], 'the ε pixel keeps its sentinel entries').toBe(fill);
  });
});
