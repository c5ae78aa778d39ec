/**
 * The GPU fit loop: the same Problem → SolveResult contract as `solveCpu`, with the same stopping
 * rule (src/problem/stopping.ts), loss samples at the same iterations, snapshots, AbortSignal and
 * progress. `solveBatch` advances B problems that share X in the same dispatches (batch index in
 * the dispatch); pixels are split into chunks when X exceeds one storage binding.
 *
 * Per iteration: h_update (per chunk), w_num (per chunk), w_reduce, w_update: 4 dispatches with
 * one chunk; with extrapolation (Problem.extrapolation > 0) w_update also extrapolates W, and
 * h_extrapolate (or, at sampled iterations, a copy) follows. The loss kernel runs only at sample iterations; its partials, W and the previous W
 * are copied into a ring of staging buffers and summed in float64 on the CPU.
 */
import { WebnmfError } from '../errors.js';
import { StopRule, sampleDue } from '../problem/stopping.js';
import { EPSILON, SIGMA_L, type LossSample, type Matrix64, type Problem, type SolveHooks, type SolveResult, type StopReason } from '../types.js';
import { BufferUsage, type GpuContext } from './device.js';
import {
  FLAG, KernelCache, LOSS_PARTS, MAX_K, PARAMS_BYTES, PIXEL_ALIGN, PROB, PSTRIDE, SMALL, SSTRIDE, packParams,
  type CompiledKernel, type KernelName,
} from './kernels.js';
import type { BufferPool } from './pool.js';
import { ReadbackRing, Scheduler, type WaitModel } from './scheduler.js';
import { countsScaleOf, fillRowsFrom, scanX, sparseChunk, u16Chunk } from './x-layout.js';

export interface EngineOptions {
  /** Force chunks of at most this many pixels (tests); default: as large as one binding allows. */
  chunkPixels?: number;
  /** Iterations encoded per submit when no sample is due. Default 10. */
  itersPerSubmit?: number;
  /**
   * Store X as packed u16 when it is an integer multiple of one scale (counts; ESPM's ε fill of
   * all-zero lines kept as a sentinel count). Default true.
   */
  packX?: boolean;
  /**
   * Store X as its nonzero counts only (KL; counts that pack as u16; at most 65536 channels):
   * every pass then costs work per nonzero count instead of per element, which pays on sparse
   * cubes (EDX: most channels of a pixel hold 0). 'auto' (default): when at least
   * SPARSE_MIN_ZERO_FRACTION (per adapter kind) of X is 0. true forces it (an error where it
   * cannot apply).
   */
  sparseX?: boolean | 'auto';
  /** Pixels per W-step partial segment. Default 256. */
  segLen?: number;
  /**
   * Channels per thread in the W-step numerator (each H load then serves that many channels).
   * Default: 4 (k ≤ 4) or 2 on software adapters (they pay per load), 1 on GPUs (they need the parallelism).
   */
  channelsPerThread?: number;
  /**
   * The W-step kernel: 'columns' (shaders/w_update.wgsl, one thread per component column: CPU
   * adapters, where threads are cores and barriers cost) or 'workgroup' (shaders/w_update_wg.wgsl,
   * a workgroup per problem splitting the sums over the channels: GPUs, where one thread's serial
   * loop over n·m products cost 5–22 ms per iteration on an H100). Default: 'columns' on software
   * adapters, 'workgroup' on GPUs.
   */
  wUpdate?: 'columns' | 'workgroup';
  /**
   * Threads per group of pixels in the H step (a power of two, 1–64), splitting its sum over the
   * channels (shaders/h_update.wgsl, SPLIT). Default: 1 on software adapters (threads are cores);
   * on GPUs enough for about 2¹⁶ threads over the pixel groups and the batch, at most 16.
   */
  hSplit?: number;
  /** Called with the duration of each setup phase and of the loop (benchmarks). */
  trace?: (phase: string, ms: number) => void;
  /**
   * Time every dispatch with timestamp queries and return per-kernel GPU time in
   * `stats.kernelTimes` (benchmarks only: each dispatch gets its own compute pass and every submit
   * waits for its timestamps). Ignored, with `stats.kernelTimes` absent, without 'timestamp-query'.
   */
  profileKernels?: boolean;
}

/**
 * backend option sparseX 'auto': the sparse layout from this fraction of zero counts on.
 * GPUs: 3/4, where it is no larger than the dense u16 layout (2 words per nonzero, one per pass
 * order, against half a word per element) and gathers from the small D and H cost little.
 * Software adapters load lane by lane, so each nonzero's gathers cost several dense elements
 * there: measured on lavapipe (ms per iteration, dense → sparse): 77 % zeros 76–87 → 91–107
 * (slower), 85 % 257–271 → 197–222, 96 % 332–345 → 116; so 0.8 there.
 */
export const SPARSE_MIN_ZERO_FRACTION = { gpu: 0.75, software: 0.8 } as const;

const RING = 3;
/** Per component: the float32 resolution of Σ_k H_kp − 1 (about 4 roundings of 6e-8 each). */
const F32_SIMPLEX_TOL_PER_K = 2.4e-7;
const U = BufferUsage;

interface Chunk {
  p0: number;
  pc: number;
  seg0: number;
  nSeg: number;
  lseg0: number;
  nLseg: number;
}

const f64 = (rows: number, cols: number, src: Float32Array, offset: number): Matrix64 => ({
  rows,
  cols,
  data: Float64Array.from(src.subarray(offset, offset + rows * cols)),
});

function relChange(A: Float32Array, Aold: Float32Array, tol: number): number {
  let mean = 0;
  for (let j = 0; j < A.length; j++) mean += A[j];
  mean /= A.length;
  let worst = 0;
  for (let j = 0; j < A.length; j++) worst = Math.max(worst, Math.abs(A[j] - Aold[j]) / (A[j] + tol * mean));
  return worst;
}

function abortError(signal: AbortSignal, details?: Record<string, unknown>): WebnmfError {
  const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  const err = new WebnmfError('runtime', `fit aborted${why}`, details);
  err.name = 'AbortError';
  return err;
}

/** Why the engine cannot run this problem (backend 'auto' then uses the CPU reference), or null. */
export function unsupportedReason(p: Problem, maxK = MAX_K): string | null {
  if (p.components > maxK) return `the WebGPU engine supports at most ${maxK} components (got ${p.components})`;
  return null;
}

/** Checks that problems can share one batched GPU fit. */
function validate(problems: readonly Problem[], maxK: number): void {
  const a = problems[0];
  for (const q of problems) {
    if (q.X !== a.X && (q.X.rows !== a.X.rows || q.X.cols !== a.X.cols || q.X.data !== a.X.data)) {
      throw new WebnmfError('usage', 'solveBatch: every problem must share the same X (the same Matrix object or data array)');
    }
    const same = q.components === a.components && q.loss === a.loss && q.simplex === a.simplex && q.majorizer === a.majorizer && !!q.G === !!a.G && q.G?.data === a.G?.data && q.shape?.rows === a.shape?.rows && q.shape?.cols === a.shape?.cols;
    if (!same) throw new WebnmfError('usage', 'solveBatch: problems must agree on components, loss, simplex, majorizer, G and shape (they may differ in λ, μ, ε_reg, tol, starts, maxIter, lossEvery)');
    // the plain (sampled) iterations are shared by the batch: each problem's must be the same
    if ((q.extrapolation ?? 0) !== (a.extrapolation ?? 0) || ((a.extrapolation ?? 0) > 0 && q.lossEvery !== a.lossEvery)) {
      throw new WebnmfError('usage', 'solveBatch: problems must agree on extrapolation, and when it is on, on lossEvery (the iterations that stay plain are shared)');
    }
  }
  const beta = a.extrapolation ?? 0;
  if (!(beta >= 0 && beta < 1)) throw new WebnmfError('usage', `extrapolation must be from 0 up to (not including) 1, got ${beta}`);
  const unsupported = unsupportedReason(a, maxK);
  if (unsupported) throw new WebnmfError('usage', `${unsupported}; use backend 'cpu'`);
  for (const q of problems) {
    if (q.lambda !== 0 && !q.shape) throw new WebnmfError('usage', 'λ > 0 needs an image shape');
  }
}

/**
 * D0 = G W0 of one problem in float64 (returned), and into small at sb the sums its first
 * iterations read: D0's column sums (as they are and clamped at ε), H0's row sums and maxima,
 * DᵀD. A function of its own so that V8 compiles these loops: the long solveBatchGpu runs
 * unoptimised, and they cost milliseconds there even on small problems.
 */
function startSums(q: Problem, G: Matrix64 | undefined, small: Float32Array, sb: number): Float64Array {
  const k = q.components;
  const n = q.X.rows;
  const p = q.X.cols;
  const m = G ? G.cols : n;
  const W0 = q.W0.data;
  const H0 = q.H0.data;
  const D0 = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      if (G) for (let j = 0; j < m; j++) s += G.data[i * m + j] * W0[j * k + c];
      else s = W0[i * k + c];
      D0[i * k + c] = s;
    }
  }
  for (let c = 0; c < k; c++) {
    let cs = 0;
    for (let i = 0; i < n; i++) cs += D0[i * k + c];
    small[sb + SMALL.dsum + c] = cs;
    let csc = 0;
    for (let i = 0; i < n; i++) csc += Math.max(D0[i * k + c], EPSILON);
    small[sb + SMALL.dsumClamped + c] = csc;
    let rs = 0;
    let mx = -Infinity;
    for (let j = 0; j < p; j++) {
      const h = H0[c * p + j];
      rs += h;
      mx = Math.max(mx, h);
    }
    small[sb + SMALL.hsum + c] = rs;
    small[sb + SMALL.hmax + c] = mx;
    for (let c2 = 0; c2 < k; c2++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += D0[i * k + c] * D0[i * k + c2];
      small[sb + SMALL.dtd + c * k + c2] = s;
    }
  }
  return D0;
}

export async function solveBatchGpu(
  ctx: GpuContext,
  cache: KernelCache,
  pool: BufferPool,
  waits: WaitModel,
  problems: readonly Problem[],
  hooks: SolveHooks = {},
  opts: EngineOptions = {},
): Promise<SolveResult[]> {
  if (problems.length === 0) return [];
  validate(problems, MAX_K);
  const { device, guard } = ctx;
  let tPhase = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    opts.trace?.(name, now - tPhase);
    tPhase = now;
  };
  guard.reset();
  guard.check(); // a device lost earlier fails every later fit at once
  const B = problems.length;
  const pr0 = problems[0];
  const X = pr0.X;
  const n = X.rows;
  const p = X.cols;
  const k = pr0.components;
  const G = pr0.G;
  const m = G ? G.cols : n;
  const frob = pr0.loss === 'frobenius';
  const shape = pr0.shape ?? { rows: 1, cols: p };
  const maxIter = Math.max(...problems.map((q) => q.maxIter));
  const beta = pr0.extrapolation ?? 0;

  // ---- layout: chunks and segments -------------------------------------------------------
  const mode = opts.sparseX ?? 'auto';
  // One pass over X answers what the layout choice asks of it (the scale search's minima, the
  // zero count, the fill rows; on mostly-zero X the list of nonzeros that the scale check and
  // the sparse layout then read instead of X: x-layout.ts scanX). Forced float32 (packX false,
  // no sparse layout) needs none of it.
  // The scan (its list up to a quarter of X's size) is dropped once X is uploaded.
  let scan = opts.packX !== false || (!frob && mode !== false) ? scanX(X) : null;
  // Counts go to the GPU as u16 (X = scale · count; ESPM's fill of all-zero lines as a sentinel)
  const counts = opts.packX === false ? null : countsScaleOf(X, scan!);
  const packed = counts !== null;
  const scale = counts?.scale ?? null;
  const fill = counts?.fill ?? 0;
  const bytesPerX = packed ? 2 : 4;
  const ppt = packed ? 8 : 4; // pixels per thread in h_update / per load in w_num
  const align = (v: number) => Math.ceil(v / PIXEL_ALIGN) * PIXEL_ALIGN;
  const pPad = align(p);
  const bindLimit = device.limits.maxStorageBufferBindingSize;
  const hBytes = B * k * pPad * 4;
  if (hBytes > bindLimit) {
    throw new WebnmfError('device', `H of ${B} problem(s) needs ${hBytes} bytes, above this device's maxStorageBufferBindingSize ${bindLimit}; use fewer problems per batch or backend 'cpu'`);
  }
  let chunkPx = Math.floor(bindLimit / (n * bytesPerX));
  chunkPx = Math.min(chunkPx, 65535 * 64);
  if (opts.chunkPixels) chunkPx = Math.min(chunkPx, opts.chunkPixels);
  chunkPx = Math.max(PIXEL_ALIGN, chunkPx - (chunkPx % PIXEL_ALIGN));
  const segLen = align(opts.segLen ?? 256);
  const chunks: Chunk[] = [];
  let seg0 = 0;
  let lseg0 = 0;
  for (let p0 = 0; p0 < p; p0 += chunkPx) {
    const pc = Math.min(chunkPx, p - p0);
    const nSeg = Math.ceil(pc / segLen);
    const nLseg = Math.ceil(pc / ppt); // one loss partial per pixel group
    chunks.push({ p0, pc, seg0, nSeg, lseg0, nLseg });
    seg0 += nSeg;
    lseg0 += nLseg;
  }
  const nSegT = seg0;
  const nLsegT = lseg0;
  // The sparse layout: forced, or ('auto') on mostly zero counts.
  // ESPM's ε-filled empty channels: zeros for the sparse layout, which leaves them out (fillRowsFrom)
  const fillRows = counts && !frob ? fillRowsFrom(X, scan!, counts.fill) : null;
  let mostlyZero = false;
  if (mode === 'auto' && !frob) {
    let zeros = X.data.length - scan!.nnz;
    if (fillRows) for (let i = 0; i < n; i++) zeros += fillRows[i] * p;
    mostlyZero = zeros >= SPARSE_MIN_ZERO_FRACTION[ctx.software ? 'software' : 'gpu'] * X.data.length;
  }
  const sparseScale = (mode === true || mostlyZero) && !frob ? (opts.packX === false ? countsScaleOf(X, scan!) : counts) : null;
  const sparseWhyNot = frob ? 'the Frobenius loss reads every element' : sparseScale === null ? 'X is not integer counts (times one scale) below 65535' : n > 65536 ? `X has ${n} channels (at most 65536)` : segLen > 65536 ? `segLen ${segLen} is above 65536` : null;
  if (mode === true && sparseWhyNot) throw new WebnmfError('usage', `sparseX: the sparse layout does not apply here: ${sparseWhyNot}; leave sparseX at 'auto'`);
  const sparse = (mode === true || mostlyZero) && !sparseWhyNot;
  // the counts as stored (scale, fill sentinel); null: float32
  const stored = sparse ? sparseScale : counts;
  const flags = (G ? FLAG.hasG : 0) | (pr0.simplex === 'h' ? FLAG.simplexH : 0) | (pr0.simplex === 'w' ? FLAG.simplexW : 0) | (frob ? FLAG.frobenius : 0) | (packed ? FLAG.packedU16 : 0) | (pr0.majorizer === 'tight' ? FLAG.tight : 0);

  // ---- kernels (compiled in parallel, cached per device) ---------------------------------
  if (opts.wUpdate !== undefined && opts.wUpdate !== 'columns' && opts.wUpdate !== 'workgroup') {
    throw new WebnmfError('usage', `wUpdate must be 'columns' or 'workgroup' (got ${String(opts.wUpdate)}); leave it unset for the adapter's default`);
  }
  if (opts.hSplit !== undefined && !(Number.isInteger(opts.hSplit) && opts.hSplit >= 1 && opts.hSplit <= 64 && (opts.hSplit & (opts.hSplit - 1)) === 0)) {
    throw new WebnmfError('usage', `hSplit must be a power of two from 1 to 64 (got ${String(opts.hSplit)}); leave it unset for the adapter's default`);
  }
  const groups = Math.ceil(Math.max(...chunks.map((c) => c.pc)) / ppt) * B;
  const hSplit = opts.hSplit ?? (ctx.software ? 1 : Math.min(16, 2 ** Math.max(0, Math.ceil(Math.log2(65536 / groups)))));
  const wKern: KernelName = (opts.wUpdate ?? (ctx.software ? 'columns' : 'workgroup')) === 'workgroup' ? 'w_update_wg' : 'w_update';
  const names: KernelName[] = ['h_update', 'w_num', 'w_reduce', wKern, 'loss', ...(beta > 0 ? (['h_extrapolate'] as const) : [])];
  const cpt = Math.min(8, Math.max(1, opts.channelsPerThread ?? (ctx.software ? (k <= 4 ? 4 : 2) : 1)));
  // compiles run while X is packed and uploaded; awaited before the bind groups
  const kernP = Promise.all(names.map(async (nm) => [nm, await cache.get(nm, k, ppt, { cpt, sparse, fill: !sparse && fill !== 0, split: hSplit })] as const));
  kernP.catch(() => undefined);
  // What a dispatch costs depends on these: the scheduler's sleepy waits start from what earlier
  // fits of the same kind learned (scheduler.ts WaitModel); `work`: elements of X read per pass.
  const waitWork = B * (sparse ? scan!.nnz : n * pPad);
  const waitKey = [B, n, pPad, k, m, sparse ? `sparse ${scan!.nnz}` : packed ? 'u16' : 'f32', chunks.length, hSplit, wKern, cpt, flags, beta > 0].join('|');

  // ---- buffers -----------------------------------------------------------------------------
  const owned: GPUBuffer[] = [];
  const get = async (size: number, usage: GPUBufferUsageFlags, label: string) => {
    const b = await pool.acquire(size, usage, label);
    owned.push(b);
    return b;
  };
  const S = U.STORAGE | U.COPY_DST | U.COPY_SRC;
  const write = (buf: GPUBuffer, data: Float32Array | Uint16Array | Uint32Array | ArrayBuffer, offset = 0) => {
    if (data instanceof ArrayBuffer) device.queue.writeBuffer(buf, offset, data);
    else device.queue.writeBuffer(buf, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  };

  /** A uniform Params buffer for chunk c with these flags. */
  const paramsFor = async (c: Chunk, fl: number, label: string) => {
    const pb = await get(PARAMS_BYTES, U.UNIFORM | U.COPY_DST, label);
    write(pb, packParams({
      n, p, k, m, rows: shape.rows, cols: shape.cols, p0: c.p0, pc: c.pc, segLen, nSeg: nSegT, seg0: c.seg0,
      flags: fl, lsegLen: ppt, nLseg: nLsegT, lseg0: c.lseg0, batch: B, eps: EPSILON, sigma: SIGMA_L, xScale: stored?.scale ?? 1, xTiny: stored?.fill ?? 0,
      pPad, pcPad: align(c.pc),
    }));
    return pb;
  };

  let ring: ReadbackRing<{ H: GPUBuffer; W: GPUBuffer }> | undefined;
  let scheduler: Scheduler | undefined; // for finally: frees the profiler's query set
  try {
    const xBufs: GPUBuffer[] = [];
    const paramBufs: GPUBuffer[] = [];
    for (const [ci, c] of chunks.entries()) {
      const pcPad = align(c.pc);
      const count = n * pcPad; // rows padded with zeros to a multiple of 8 pixels
      const words = sparse ? sparseChunk(X, stored!.scale, stored!.fill, c.p0, c.pc, pcPad, segLen, stored === counts ? fillRows : null, scan) : null;
      if (words && words.byteLength > bindLimit) {
        throw new WebnmfError('usage', `sparseX: a chunk of ${c.pc} pixels holds ${words.byteLength} bytes as nonzero counts, above this device's maxStorageBufferBindingSize ${bindLimit}; the data are too dense for the sparse layout: leave sparseX at 'auto'`);
      }
      const buf = await get(words ? words.byteLength : count * bytesPerX, S, `X chunk ${ci}`);
      if (words) {
        write(buf, words);
      } else if (packed) {
        write(buf, u16Chunk(X, scale!, fill, c.p0, c.pc, pcPad));
      } else {
        const f32 = new Float32Array(count);
        for (let i = 0; i < n; i++) f32.set(X.data.subarray(i * p + c.p0, i * p + c.p0 + c.pc), i * pcPad);
        write(buf, f32);
      }
      xBufs.push(buf);
      paramBufs.push(await paramsFor(c, flags, `params chunk ${ci}`));
    }
    scan = null;
    // w_update's params at extrapolated iterations: chunk 0's with the extrapolate flag
    const paramsExtrapolate = beta > 0 ? await paramsFor(chunks[0], flags | FLAG.extrapolate, 'params extrapolate') : paramBufs[0];

    const probs = new Float32Array(B * PSTRIDE);
    const small = new Float32Array(B * SSTRIDE);
    const Dinit = new Float32Array(B * n * k);
    const Winit = new Float32Array(B * m * k);
    const Hinit = new Float32Array(B * k * pPad); // padding pixels stay 0
    for (const [b, q] of problems.entries()) {
      const o = b * PSTRIDE;
      probs[o + PROB.lambda] = q.lambda;
      probs[o + PROB.epsReg] = q.epsilonReg;
      probs[o + PROB.tol] = q.tol;
      // |f(ν)| below ~k float32 roundings of a sum near 1 cannot be resolved: floor the tolerance there
      probs[o + PROB.simplexTol] = Math.max(q.simplexTol, F32_SIMPLEX_TOL_PER_K * k);
      for (let c = 0; c < k; c++) probs[o + PROB.mu + c] = q.mu[c] ?? 0;
      probs[o + PROB.beta] = beta;
      if (q.W0.rows !== m || q.W0.cols !== k || q.H0.rows !== k || q.H0.cols !== p) {
        throw new WebnmfError('usage', `problem ${b}: W0 is ${q.W0.rows}×${q.W0.cols} and H0 ${q.H0.rows}×${q.H0.cols}; expected ${m}×${k} and ${k}×${p}`);
      }
      Winit.set(q.W0.data, b * m * k);
      for (let c = 0; c < k; c++) Hinit.set(q.H0.data.subarray(c * p, (c + 1) * p), (b * k + c) * pPad);
      Dinit.set(startSums(q, G, small, b * SSTRIDE), b * n * k);
    }
    const probsBuf = await get(probs.byteLength, S, 'probs');
    write(probsBuf, probs);
    const smallBuf = await get(small.byteLength, S, 'small');
    write(smallBuf, small);
    const DBuf = await get(Dinit.byteLength, S, 'D');
    write(DBuf, Dinit);
    const Gdata = new Float32Array(G ? n * m + m : 4);
    if (G) {
      Gdata.set(G.data);
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += G.data[i * m + j];
        Gdata[n * m + j] = s;
      }
    }
    const GBuf = await get(Gdata.byteLength, S, 'G');
    write(GBuf, Gdata);
    const HBuf = [await get(hBytes, S, 'H[0]'), await get(hBytes, S, 'H[1]')];
    write(HBuf[0], Hinit);
    write(HBuf[1], Hinit);
    const wBytes = Winit.byteLength;
    const WBuf = [await get(wBytes, S, 'W[0]'), await get(wBytes, S, 'W[1]')];
    write(WBuf[0], Winit);
    write(WBuf[1], Winit);
    // extrapolation: the previous plain iterates (W always bound by w_update; unused where β = 0)
    const WPBuf = await get(beta > 0 ? wBytes : 16, S, 'W previous');
    const HPBuf = beta > 0 ? await get(hBytes, S, 'H previous') : null;
    if (beta > 0) {
      write(WPBuf, Winit);
      write(HPBuf!, Hinit);
    }
    // sparse X: H⁺ pixel-major for the W step's gathers (h_update writes it); a stub otherwise
    const HtBuf = await get(sparse ? B * pPad * Math.ceil(k / 4) * 16 : 16, S, 'H pixel-major');
    const wpart = await get(B * nSegT * n * k * 4, S, 'wpart');
    const hpart = await get(B * nSegT * 2 * k * 4, S, 'hpart');
    const wnum = await get(B * n * k * 4, S, 'wnum');
    const lossBytes = B * nLsegT * LOSS_PARTS * 4;
    const lpart = await get(lossBytes, S, 'loss partials');
    const goodH = await get(hBytes, S, 'last good H');
    const goodW = await get(wBytes, S, 'last good W');
    write(goodH, Hinit);
    write(goodW, Winit);
    // ring slots: staging = [loss partials | W | W_prev]; extras: GPU copies of H and W at the sample
    const stagingBytes = lossBytes + 2 * wBytes;
    const staging: GPUBuffer[] = [];
    const extras: { H: GPUBuffer; W: GPUBuffer }[] = [];
    for (let r = 0; r < RING; r++) {
      staging.push(await get(stagingBytes, U.MAP_READ | U.COPY_DST, `loss staging ${r}`));
      extras.push({ H: await get(hBytes, S, `sample H ${r}`), W: await get(wBytes, S, `sample W ${r}`) });
    }
    const sched = new Scheduler(device, guard, 2, ctx.sleepyWaits, waits.prior(waitKey, waitWork));
    scheduler = sched;
    ring = new ReadbackRing(staging, extras, guard, sched);
    const rb = ring;

    phase('upload (X packing, buffers)');
    const kern = Object.fromEntries(await kernP) as Record<KernelName, CompiledKernel>;
    guard.check();
    phase('compile (pipelines, beyond the upload)');

    // ---- bind groups, built once per fit -------------------------------------------------
    const bg = (nm: KernelName, res: Record<string, GPUBuffer>, label: string) => cache.bindGroup(kern[nm], res, label);
    const hBG = [0, 1].map((par) => chunks.map((_, ci) => bg('h_update', { P: paramBufs[ci], probs: probsBuf, X: xBufs[ci], D: DBuf, small: smallBuf, Hin: HBuf[par], Hout: HBuf[1 - par], Ht: HtBuf }, `h_update ${par}/${ci}`)));
    const nBG = [0, 1].map((par) => chunks.map((_, ci) => bg('w_num', { P: paramBufs[ci], X: xBufs[ci], D: DBuf, H: HBuf[1 - par], wpart, hpart, Ht: HtBuf }, `w_num ${par}/${ci}`)));
    const rBG = [0, 1].map((par) => bg('w_reduce', { P: paramBufs[0], wpart, hpart, H: HBuf[1 - par], wnum, small: smallBuf }, `w_reduce ${par}`));
    // [par][0: plain, 1: extrapolated iteration]
    const uBG = [0, 1].map((par) => [paramBufs[0], paramsExtrapolate].map((P, x) => bg(wKern, { P, probs: probsBuf, G: GBuf, wnum, Win: WBuf[par], Wout: WBuf[1 - par], D: DBuf, small: smallBuf, Wprev: WPBuf }, `w_update ${par}${x ? ' extrapolate' : ''}`)));
    const eBG = HPBuf ? [0, 1].map((par) => bg('h_extrapolate', { P: paramBufs[0], probs: probsBuf, H: HBuf[1 - par], Hprev: HPBuf }, `h_extrapolate ${par}`)) : null;
    const lBG = [0, 1].map((cur) => chunks.map((_, ci) => bg('loss', { P: paramBufs[ci], probs: probsBuf, X: xBufs[ci], D: DBuf, small: smallBuf, H: HBuf[cur], Hprev: HBuf[1 - cur], lpart }, `loss ${cur}/${ci}`)));

    const profiling = opts.profileKernels === true && sched.enableProfiling();
    const reduceThreads = n * k + 2 * k + (frob ? k * k : 0);
    const encodeIteration = (t: number) => {
      const par = t % 2;
      // extrapolated unless iteration t + 1 is sampled or kept (those stay plain updates)
      const ext = eBG !== null && !dueFor(t + 1) && !wanted.has(t + 1);
      for (const [ci, c] of chunks.entries()) sched.dispatch(kern.h_update, hBG[par][ci], Math.ceil((Math.ceil(c.pc / ppt) * hSplit) / 64), B);
      for (const [ci, c] of chunks.entries()) sched.dispatch(kern.w_num, nBG[par][ci], Math.ceil(n / cpt / 64), c.nSeg, B);
      sched.dispatch(kern.w_reduce, rBG[par], Math.ceil(reduceThreads / 64), B);
      sched.dispatch(kern[wKern], uBG[par][ext ? 1 : 0], 1, B);
      if (eBG && ext) sched.dispatch(kern.h_extrapolate, eBG[par], Math.ceil(pPad / 4 / 64), B);
      else if (HPBuf) sched.copy(HBuf[1 - par], 0, HPBuf, 0, hBytes);
    };
    const encodeSample = (t: number) => {
      const slot = rb.acquire();
      if (!slot) throw new Error('internal: no free loss slot');
      const cur = t % 2;
      for (const [ci, c] of chunks.entries()) sched.dispatch(kern.loss, lBG[cur][ci], Math.ceil(c.nLseg / 64), B);
      sched.copy(lpart, 0, slot.staging, 0, lossBytes);
      sched.copy(WBuf[cur], 0, slot.staging, lossBytes, wBytes);
      sched.copy(WBuf[1 - cur], 0, slot.staging, lossBytes + wBytes, wBytes);
      sched.copy(HBuf[cur], 0, slot.extra.H, 0, hBytes);
      sched.copy(WBuf[cur], 0, slot.extra.W, 0, wBytes);
      return slot;
    };
    const readBack = async (src: { H: GPUBuffer; W: GPUBuffer }, hOff = 0, wOff = 0) => {
      const st = await pool.acquire(hBytes + wBytes, U.MAP_READ | U.COPY_DST, 'iterate read-back');
      try {
        sched.copy(src.H, 0, st, 0, hBytes);
        sched.copy(src.W, 0, st, hBytes, wBytes);
        await sched.submit();
        const bytes = await sched.read(st, hBytes + wBytes);
        guard.check();
        const H32 = new Float32Array(bytes, 0, hBytes / 4);
        const W32 = new Float32Array(bytes, hBytes, wBytes / 4);
        return { H32, W32, hOff, wOff };
      } finally {
        pool.release(st);
      }
    };
    const split = (H32: Float32Array, W32: Float32Array, b: number) => {
      const H: Matrix64 = { rows: k, cols: p, data: new Float64Array(k * p) };
      for (let c = 0; c < k; c++) H.data.set(H32.subarray((b * k + c) * pPad, (b * k + c) * pPad + p), c * p);
      return { W: f64(m, k, W32, b * m * k), H };
    };

    // ---- the loop ------------------------------------------------------------------------
    const rules = problems.map((q) => new StopRule(q));
    const losses: LossSample[][] = problems.map(() => []);
    const done: (null | { reason: StopReason; nIter: number; W: Matrix64; H: Matrix64 })[] = problems.map(() => null);
    const snapshots = problems.map(() => new Map<number, { W: Matrix64; H: Matrix64 }>());
    const wanted = new Set(problems.flatMap((q) => q.snapshots));
    const dueFor = (t: number) => problems.some((q, b) => !done[b] && sampleDue(t, q.lossEvery, q.maxIter));
    const perSubmit = Math.max(1, opts.itersPerSubmit ?? 10);
    guard.setLastGood({ W: pr0.W0, H: pr0.H0, iteration: 0 });
    const t0 = performance.now();

    const processSlot = async (bytes: ArrayBuffer, iteration: number, slot: { extra: { H: GPUBuffer; W: GPUBuffer } }) => {
      const parts = new Float32Array(bytes, 0, lossBytes / 4);
      const Wc = new Float32Array(bytes, lossBytes, wBytes / 4);
      const Wp = new Float32Array(bytes, lossBytes + wBytes, wBytes / 4);
      const stopped: { b: number; reason: StopReason }[] = [];
      let goodCopy = false;
      for (const [b, q] of problems.entries()) {
        if (done[b] || !sampleDue(iteration, q.lossEvery, q.maxIter)) continue;
        let kl = 0, lg = 0, lp = 0, rel = 0;
        for (let s = 0; s < nLsegT; s++) {
          const o = (b * nLsegT + s) * LOSS_PARTS;
          kl += parts[o];
          lg += parts[o + 1];
          lp += parts[o + 2];
          rel = Math.max(rel, parts[o + 3]);
          if (Number.isNaN(parts[o + 3])) rel = NaN;
        }
        const numel = n * p;
        const klv = kl / numel;
        const logReg = q.mu.some((v) => v !== 0) ? lg / numel : 0;
        const lap = q.lambda !== 0 && q.shape ? (0.5 * q.lambda * lp) / numel : 0;
        const sample: LossSample = {
          iteration,
          full: klv + logReg + lap,
          kl: klv,
          logReg,
          laplacian: lap,
          relW: iteration === 0 ? NaN : relChange(Wc.subarray(b * m * k, (b + 1) * m * k), Wp.subarray(b * m * k, (b + 1) * m * k), q.tol),
          relH: iteration === 0 ? NaN : rel,
        };
        losses[b].push(sample);
        const reason = rules[b].check(sample);
        if (reason) stopped.push({ b, reason });
        else {
          // remember this sample's iterate as the last good one (GPU-side copy)
          sched.copy(slot.extra.H, b * k * pPad * 4, goodH, b * k * pPad * 4, k * pPad * 4);
          sched.copy(slot.extra.W, b * m * k * 4, goodW, b * m * k * 4, m * k * 4);
          goodCopy = true;
        }
        if (b === 0 && hooks.onProgress) {
          const el = (performance.now() - t0) / 1000;
          hooks.onProgress({ iteration, maxIter: q.maxIter, loss: sample.full, rate: iteration / Math.max(el, 1e-9) });
        }
      }
      void goodCopy;
      if (stopped.length > 0) {
        const nanOnes = stopped.filter((s) => s.reason === 'nan');
        const rest = stopped.filter((s) => s.reason !== 'nan');
        if (rest.length > 0) {
          const { H32, W32 } = await readBack(slot.extra);
          for (const s of rest) done[s.b] = { reason: s.reason, nIter: iteration, ...split(H32, W32, s.b) };
        }
        if (nanOnes.length > 0) {
          const { H32, W32 } = await readBack({ H: goodH, W: goodW });
          for (const s of nanOnes) done[s.b] = { reason: 'nan', nIter: iteration, ...split(H32, W32, s.b) };
        }
      }
    };

    const drainReady = async (wait: boolean) => {
      for (;;) {
        const slot = await rb.oldest(wait);
        guard.check();
        if (!slot) return;
        const bytes = rb.consume(slot, stagingBytes);
        await processSlot(bytes, slot.iteration, slot);
        wait = false;
      }
    };

    const launchSample = async (t: number) => {
      if (!rb.acquire()) {
        await sched.submit();
        await drainReady(true);
      }
      const slot = encodeSample(t);
      await sched.submit();
      rb.launch(slot, t, stagingBytes);
    };

    await launchSample(0);
    await guard.guarded(device.queue.onSubmittedWorkDone());
    sched.markComplete(); // the first submit includes the driver's lazy compile: not a timing to learn from
    phase('first sample (incl. lazy driver compile)');
    let t = 0;
    while (done.some((d) => d === null)) {
      if (hooks.signal?.aborted) {
        await sched.flush();
        const { H32, W32 } = await readBack({ H: HBuf[t % 2], W: WBuf[t % 2] });
        throw abortError(hooks.signal, { ...split(H32, W32, 0), iteration: t });
      }
      if (t >= maxIter) {
        await drainReady(true);
        if (rb.inFlight === 0 && done.some((d) => d === null)) throw new Error('internal: fit ended without a stop reason');
        continue;
      }
      let nIt = 0;
      while (nIt < perSubmit && t < maxIter) {
        encodeIteration(t);
        t++;
        nIt++;
        if (dueFor(t) || wanted.has(t)) break;
      }
      if (dueFor(t)) await launchSample(t);
      else await sched.submit();
      if (wanted.has(t)) {
        const { H32, W32 } = await readBack({ H: HBuf[t % 2], W: WBuf[t % 2] });
        for (const [b, q] of problems.entries()) if (!done[b] && q.snapshots.includes(t)) snapshots[b].set(t, split(H32, W32, b));
        guard.setLastGood({ ...split(H32, W32, 0), iteration: t });
      }
      await drainReady(rb.inFlight >= RING);
      // a fit about to stop waits for its samples rather than run up to RING samples ahead
      if (rb.inFlight > 0 && rules.some((r, b) => !done[b] && r.imminent())) await drainReady(true);
      guard.check();
    }
    await rb.drain();
    await sched.flush();
    guard.check();
    phase(`loop (${t} iterations)`);
    if (!profiling) waits.learn(waitKey, waitWork, sched.learned); // profiling waits on every submit
    const info = `webgpu: ${ctx.adapterInfo}`;
    // ESPM's lock-step bisection needs a global max-reduction per round; the GPU always solves
    // ν per pixel (column) to simplexTol and says so rather than silently substituting.
    const solverNote = (q: Problem) =>
      q.simplex !== 'none' && q.simplexSolver === 'espm'
        ? "; simplexSolver 'espm' ran as 'exact' (per-pixel safeguarded Newton to simplexTol; ESPM's lock-step bisection is CPU-only, ν differs by up to ~1e-5 relative)"
        : '';
    return problems.map((q, b) => {
      const d = done[b]!;
      const stats = { ...sched.stats, xLayout: sparse ? 'sparse' : packed ? 'u16' : 'f32', wUpdate: wKern, hSplit, ...(profiling ? { kernelTimes: Object.fromEntries(sched.kernelTimes) } : {}) };
      return { W: d.W, H: d.H, losses: losses[b], nIter: d.nIter, stopReason: d.reason, snapshots: snapshots[b], backendInfo: info + solverNote(q), stats } as SolveResult;
    });
  } catch (e) {
    if ((e as Error).name !== 'AbortError' && !(e instanceof WebnmfError)) await guard.explain();
    throw e;
  } finally {
    // Nothing may be returned to the pool while the GPU or a pending map still uses it.
    if (!guard.lost) {
      try {
        await ring?.drain();
        await guard.guarded(device.queue.onSubmittedWorkDone());
      } catch {
        /* the device is gone: the pool is disposed with it */
      }
    }
    scheduler?.dispose();
    pool.release(...owned);
  }
}
