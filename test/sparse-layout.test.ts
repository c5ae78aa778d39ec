/**
 * The sparse layout of X (src/gpu/x-layout.ts `sparseChunk`, read by shaders/h_update.wgsl,
 * w_num.wgsl and loss.wgsl), decoded here word by word without a GPU: both halves (per pixel;
 * per segment and channel) must hold every nonzero count of the chunk exactly once, in order,
 * with the fill sentinel where X holds the fill value.
 */
import { describe, expect, test } from 'vitest';
import { countsScale, countsScaleOf, fillRowsFrom, scanX, sparseChunk, u16Chunk } from '../src/gpu/x-layout.js';
import type { Matrix, Matrix64 } from '../src/types.js';

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
    const rows = fillRowsFrom(X, scanX(X), fill)!;
    expect(Array.from(rows)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(fillRowsFrom(X, scanX(X), 0), 'no fill value: nothing to find').toBeNull();
    const plain = cube(n, p, 4);
    expect(fillRowsFrom(plain, scanX(plain), fill), 'no ε channel').toBeNull();
    const want = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let q = 0; q < p; q++) want[i * p + q] = rows[i] ? 0 : X.data[i * p + q];
    const words = sparseChunk(X, 0.5, fill, 0, p, p, 16, rows);
    expect(Array.from(decode(words, n, p, p, 16, 0.5, fill, 'pixel'))).toEqual(Array.from(want));
    expect(Array.from(decode(words, n, p, p, 16, 0.5, fill, 'segment'))).toEqual(Array.from(want));
    expect(want[1 * p + 7], 'the ε pixel keeps its sentinel entries').toBe(fill);
  });
});

/*
 * The engine reads X once (scanX) and answers the layout questions from that scan and its list of
 * nonzeros (countsScaleOf, fillRowsFrom, sparseChunk with a scan). These must give exactly what
 * straightforward passes over X give: the references below are the plain definitions (the scale
 * search as it was written before the scan, a per-pixel / per-(segment, channel) list build).
 */

/** countsScale as first written: every pass over all of X, no shortcut. */
function refCountsScale(data: ArrayLike<number>): { scale: number; fill: number } | null {
  const countsOf = (s: number, except: number): 'yes' | 'no' | 'over' => {
    for (let j = 0; j < data.length; j++) {
      const v = data[j];
      if (v === except) continue;
      const c = v / s;
      const r = Math.round(c);
      if (r > FILL - 1) return 'over';
      if (Math.abs(c - r) > 1e-6 * Math.max(1, r)) return 'no';
    }
    return 'yes';
  };
  const packScale = (except: number): number | null => {
    let minPos = Infinity;
    for (let j = 0; j < data.length; j++) if (data[j] > 0 && data[j] < minPos && data[j] !== except) minPos = data[j];
    if (!Number.isFinite(minPos)) return null;
    for (let t = 1; t <= 16; t++) {
      const fit = countsOf(minPos / t, except);
      if (fit === 'yes') return minPos / t;
      if (fit === 'over') return null;
    }
    return null;
  };
  const plain = packScale(NaN);
  if (plain !== null) return { scale: plain, fill: 0 };
  let min1 = Infinity;
  for (let j = 0; j < data.length; j++) if (data[j] > 0 && data[j] < min1) min1 = data[j];
  let min2 = Infinity;
  for (let j = 0; j < data.length; j++) if (data[j] > min1 && data[j] < min2) min2 = data[j];
  if (!(min1 < 1e-6 * min2)) return null;
  const scale = packScale(min1);
  return scale === null ? null : { scale, fill: min1 };
}

/** The channels whose every value is `fill` (ESPM's ε-filled empty channels), or null: the definition. */
function refFillRows(X: Matrix, fill: number): Uint8Array | null {
  if (!(fill > 0)) return null;
  const { rows: n, cols: p, data } = X;
  const rows = new Uint8Array(n);
  for (let i = 0; i < n; i++) rows[i] = Array.from(data.subarray(i * p, (i + 1) * p)).every((v) => v === fill) ? 1 : 0;
  return rows.some((v) => v === 1) ? rows : null;
}

/** The sparse words built the plain way: collect both halves' lists, then lay them out. */
function refSparse(X: Matrix, scale: number, fill: number, p0: number, pc: number, pcPad: number, segLen: number, skip: Uint8Array | null): Uint32Array {
  const { rows: n, cols: p, data } = X;
  const nSeg = Math.ceil(pc / segLen);
  const count = (v: number) => (v === fill ? FILL : Math.round(v / scale));
  const perPixel: number[][] = Array.from({ length: pcPad }, () => []);
  const perSeg: number[][] = Array.from({ length: nSeg * n }, () => []);
  for (let i = 0; i < n; i++) {
    if (skip?.[i]) continue;
    for (let q = 0; q < pc; q++) {
      const v = data[i * p + p0 + q];
      if (v === 0) continue;
      perPixel[q].push((i << 16) | count(v));
      const s = Math.floor(q / segLen);
      perSeg[s * n + i].push(((q - s * segLen) << 16) | count(v));
    }
  }
  const nnz = perPixel.reduce((a, l) => a + l.length, 0);
  const pixEnt = 4 + pcPad + 1;
  const segOff = pixEnt + nnz;
  const segEnt = segOff + nSeg * n + 1;
  const words = new Uint32Array(Math.ceil((segEnt + nnz) / 4) * 4);
  words.set([pixEnt, segOff, segEnt, 0]);
  let e = 0;
  for (let q = 0; q < pcPad; q++) {
    words[4 + q] = e;
    for (const w of perPixel[q]) words[pixEnt + e++] = w;
  }
  words[4 + pcPad] = e;
  e = 0;
  for (let j = 0; j < nSeg * n; j++) {
    words[segOff + j] = e;
    for (const w of perSeg[j]) words[segEnt + e++] = w;
  }
  words[segOff + nSeg * n] = e;
  return words;
}

const firstDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return -2;
  for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) return j;
  return -1;
};

/**
 * A random counts cube as the engine sees it: counts × scale (the smallest count 1 or 2), some
 * rows ε-filled (ESPM's empty channels, normalised), uniform at another value, or all zero; now
 * and then a value that is no count, a count above 65534, or a bad value.
 */
function layoutCase(r: () => number) {
  const n = 1 + Math.floor(r() * 30);
  const p = 1 + Math.floor(r() * 200);
  const density = [0.02, 0.1, 0.3, 0.7, 1][Math.floor(r() * 5)];
  const scale = [1, 0.5, 0.015008038057492271, 3e-3, 1e10][Math.floor(r() * 5)];
  const fill = r() < 0.5 ? 1e-14 * scale : 0;
  const base = r() < 0.3 ? 2 : 1; // 2: the smallest value is 2 counts, the search tries t = 2
  const big = r() < 0.15;
  const data = r() < 0.2 ? new Float32Array(n * p) : new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const kind = r();
    for (let q = 0; q < p; q++) {
      let v = r() < density ? (base + Math.floor(r() * (big && r() < 0.05 ? 70000 : r() < 0.3 ? 3 : 40))) * scale : 0;
      if (kind < 0.15 && fill) v = fill;
      else if (kind < 0.2) v = 3 * scale;
      else if (kind < 0.25) v = 0;
      data[i * p + q] = v;
    }
  }
  if (r() < 0.1) data[Math.floor(r() * n * p)] = 0.37 * scale;
  if (r() < 0.05) data[Math.floor(r() * n * p)] = [-1, NaN, Infinity, -0][Math.floor(r() * 4)];
  return { rows: n, cols: p, data } as Matrix;
}

describe('the one-pass scan of X (scanX) gives what passes over X give', () => {
  test('scale and fill, fill rows, zero count and sparse words on 600 random cubes', () => {
    let s = 12345;
    const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const seen = { listed: 0, unlisted: 0, counts: 0, fill: 0, t2: 0, none: 0 };
    for (let trial = 0; trial < 600; trial++) {
      const X = layoutCase(r);
      const { rows: n, cols: p, data } = X;
      const scan = scanX(X);
      const want = refCountsScale(data);
      const why = `trial ${trial} (${n} × ${p})`;
      expect(countsScaleOf(X, scan), why).toEqual(want);
      expect(countsScale(data), why).toEqual(want);
      let zeros = 0;
      for (let j = 0; j < data.length; j++) if (data[j] === 0) zeros++;
      expect(data.length - scan.nnz, why).toBe(zeros);
      seen[scan.list ? 'listed' : 'unlisted']++;
      if (!want) {
        seen.none++;
        continue;
      }
      seen.counts++;
      if (want.fill) seen.fill++;
      if (want.scale !== (want.fill ? Math.min(...Array.from(data).filter((v) => v > want.fill)) : Math.min(...Array.from(data).filter((v) => v > 0)))) seen.t2++;
      const rows = fillRowsFrom(X, scan, want.fill);
      expect(rows === null ? null : Array.from(rows), why).toEqual(((f) => (f === null ? null : Array.from(f)))(refFillRows(X, want.fill)));
      const segLen = [8, 16, 256][trial % 3];
      // the dense u16 words: each value's count by division and rounding, the fill as FILL, zero padding
      for (const [p0, pc] of [
        [0, p],
        [Math.floor(p / 3), Math.max(1, Math.floor(p / 2))],
      ]) {
        const pcPad = Math.ceil(pc / 8) * 8;
        const ref = new Uint16Array(n * pcPad);
        for (let i = 0; i < n; i++) {
          for (let q = 0; q < pc; q++) {
            const v = data[i * p + p0 + q];
            ref[i * pcPad + q] = want.fill !== 0 && v === want.fill ? FILL : Math.round(v / want.scale);
          }
        }
        expect(firstDiff(u16Chunk(X, want.scale, want.fill, p0, pc, pcPad), ref), `${why}: u16 words`).toBe(-1);
      }
      for (const skip of [rows, null]) {
        for (const [p0, pc] of [
          [0, p],
          [Math.floor(p / 3), Math.max(1, Math.floor(p / 2))],
        ]) {
          const pcPad = Math.ceil(pc / 8) * 8;
          const ref = refSparse(X, want.scale, want.fill, p0, pc, pcPad, segLen, skip);
          expect(firstDiff(sparseChunk(X, want.scale, want.fill, p0, pc, pcPad, segLen, skip, scan), ref), `${why}: from the scan`).toBe(-1);
          expect(firstDiff(sparseChunk(X, want.scale, want.fill, p0, pc, pcPad, segLen, skip), ref), `${why}: from X`).toBe(-1);
        }
      }
    }
    // every path ran: with and without the list, plain scales, fills, the search past t = 1, no scale
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(10);
  });

  test('an EDX-like cube: ε-filled channels are not listed, the list holds the counts', () => {
    const n = 40;
    const p = 300;
    const X = cube(n, p, 9);
    const scale = 0.015008038057492271;
    const fill = 1e-14 * scale;
    for (let j = 0; j < X.data.length; j++) X.data[j] *= 2 * scale; // cube() holds multiples of 0.5
    for (const i of [0, 1, 2, 30, 39]) X.data.fill(fill, i * p, (i + 1) * p);
    const scan = scanX(X);
    expect(scan.list, 'mostly zeros: listed').not.toBeNull();
    let listed = 0;
    for (let i = 0; i < n; i++) if (!scan.uniform[i]) for (let q = 0; q < p; q++) if (X.data[i * p + q] !== 0) listed++;
    expect(scan.list!.rowStart[n]).toBe(listed);
    expect(Array.from(scan.uniform).filter((u) => u).length).toBe(5);
    const want = refCountsScale(X.data)!;
    expect(want.fill).toBe(fill);
    expect(countsScaleOf(X, scan)).toEqual(want);
    const rows = fillRowsFrom(X, scan, fill)!;
    const words = sparseChunk(X, want.scale, fill, 0, p, p, 16, rows, scan);
    expect(firstDiff(words, refSparse(X, want.scale, fill, 0, p, p, 16, rows))).toBe(-1);
  });
});
