/**
 * How X is stored on the GPU (the engine picks one per fit, src/gpu/solve.ts):
 * - u16: counts X = scale · c, c in [0, 65534], two per u32 (`u16Chunk`); ESPM's ε fill of
 *   all-zero lines as the sentinel count FILL_COUNT (decoded as Params.xTiny);
 * - sparse: the nonzero counts only, one list per pixel and one per (segment, channel)
 *   (`sparseChunk`), for KL fits of mostly-zero counts;
 * - float32 otherwise (written directly by the engine).
 * Written here in plain loops: nothing to gain from a library, and this runs once per fit.
 */
import type { Matrix } from '../types.js';

/**
 * Scale s such that X = s · (integers in [0, maxCount]), or null; entries equal to `except`
 * (ESPM's ε in all-zero lines; NaN: none) are skipped: they are stored as the fill sentinel.
 */
function packScale(data: ArrayLike<number>, maxCount: number, except: number): number | null {
  let minPos = Infinity;
  for (let j = 0; j < data.length; j++) {
    const v = data[j];
    if (v > 0 && v < minPos && v !== except) minPos = v;
  }
  if (!Number.isFinite(minPos)) return null;
  // The smallest value is usually one count; where no count is 1, try it as 2, 3, … counts.
  for (let t = 1; t <= 16; t++) {
    const fit = countsOf(data, minPos / t, maxCount, except);
    if (fit === 'yes') return minPos / t;
    if (fit === 'over') return null;
  }
  return null;
}

/** Whether every value (but `except`) is an integer multiple of s within [0, maxCount]. */
function countsOf(data: ArrayLike<number>, s: number, maxCount: number, except: number): 'yes' | 'no' | 'over' {
  for (let j = 0; j < data.length; j++) {
    const v = data[j];
    if (v === except) continue;
    const c = v / s;
    const r = Math.round(c);
    if (r > maxCount) return 'over';
    if (Math.abs(c - r) > 1e-6 * Math.max(1, r)) return 'no';
  }
  return 'yes';
}

/** The 16-bit count that stands for the fill of all-zero lines (u16 and sparse layouts; Params.xTiny). */
export const FILL_COUNT = 0xffff;

/**
 * X as counts for the u16 and sparse layouts: X = scale · (integers in [0, 65534]), except one
 * tiny value below 1e-6 of the scale (ESPM's ε fill of all-zero lines, normalised with X), stored
 * as the count FILL_COUNT and decoded as Params.xTiny = fill (0: none). Null when X is not that.
 */
export function countsScale(data: ArrayLike<number>): { scale: number; fill: number } | null {
  const plain = packScale(data, FILL_COUNT - 1, NaN);
  if (plain !== null) return { scale: plain, fill: 0 };
  let min1 = Infinity;
  for (let j = 0; j < data.length; j++) if (data[j] > 0 && data[j] < min1) min1 = data[j];
  let min2 = Infinity;
  for (let j = 0; j < data.length; j++) if (data[j] > min1 && data[j] < min2) min2 = data[j];
  if (!(min1 < 1e-6 * min2)) return null;
  const scale = packScale(data, FILL_COUNT - 1, min1);
  return scale === null ? null : { scale, fill: min1 };
}

/**
 * The channels that hold ESPM's ε fill throughout (all-zero channels of the raw data: often a
 * quarter to a half of an EDX cube's, above the beam energy or below the first line), or null
 * when there are none. The sparse layout leaves them out: their terms are ~ε / (DH) or ~ε,
 * some 1e-12 of the others and below float32's resolution, and the loss's Σ Y still counts
 * them (it is formed from D).
 */
export function fillRowsOf(X: Matrix, fill: number): Uint8Array | null {
  if (!(fill > 0)) return null;
  const { rows: n, cols: p, data } = X;
  const rows = new Uint8Array(n);
  let any = false;
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let q = 0; q < p && all; q++) all = data[i * p + q] === fill;
    if (all) (rows[i] = 1), (any = true);
  }
  return any ? rows : null;
}

/**
 * The sparse layout of one chunk of packed counts (X = scale · counts), as u32 words (see
 * shaders/h_update.wgsl and w_num.wgsl): a header, the per-pixel offsets and entries
 * (channel << 16 | count), then the per-(segment, channel) offsets and entries
 * (pixel within the segment << 16 | count); a count of FILL_COUNT stands for `fill`.
 * Channels marked in `skipRows` (`fillRowsOf`) are left out. Length padded to a multiple of 4 words.
 */
export function sparseChunk(X: Matrix, scale: number, fill: number, p0: number, pc: number, pcPad: number, segLen: number, skipRows: Uint8Array | null = null): Uint32Array {
  const { rows: n, cols: p, data } = X;
  const nSeg = Math.ceil(pc / segLen);
  const perPixel = new Uint32Array(pcPad + 1);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    if (skipRows?.[i]) continue;
    const row = i * p + p0;
    for (let q = 0; q < pc; q++) {
      if (data[row + q] !== 0) {
        perPixel[q + 1]++;
        nnz++;
      }
    }
  }
  const pixOff = 4;
  const pixEnt = pixOff + pcPad + 1;
  const segOff = pixEnt + nnz;
  const segEnt = segOff + nSeg * n + 1;
  const words = new Uint32Array(Math.ceil((segEnt + nnz) / 4) * 4);
  words.set([pixEnt, segOff, segEnt, 0]);
  for (let q = 0; q < pcPad; q++) perPixel[q + 1] += perPixel[q];
  words.set(perPixel, pixOff);
  const cursor = perPixel.slice(0, pcPad);
  let e = 0;
  for (let s = 0; s < nSeg; s++) {
    const q0 = s * segLen;
    const q1 = Math.min(pc, q0 + segLen);
    for (let i = 0; i < n; i++) {
      words[segOff + s * n + i] = e;
      if (skipRows?.[i]) continue;
      const row = i * p + p0;
      for (let q = q0; q < q1; q++) {
        const v = data[row + q];
        if (v === 0) continue;
        const count = v === fill ? FILL_COUNT : Math.round(v / scale);
        words[segEnt + e++] = ((q - q0) << 16) | count;
        words[pixEnt + cursor[q]++] = (i << 16) | count;
      }
    }
  }
  words[segOff + nSeg * n] = e;
  return words;
}

/** One chunk of counts as u16 (rows of pcPad pixels, zero-padded), the fill as FILL_COUNT. */
export function u16Chunk(X: Matrix, scale: number, fill: number, p0: number, pc: number, pcPad: number): Uint16Array {
  const { rows: n, cols: p, data } = X;
  const u16 = new Uint16Array(n * pcPad);
  for (let i = 0; i < n; i++) {
    const row = i * p + p0;
    for (let q = 0; q < pc; q++) {
      const v = data[row + q];
      u16[i * pcPad + q] = fill !== 0 && v === fill ? FILL_COUNT : Math.round(v / scale);
    }
  }
  return u16;
}
