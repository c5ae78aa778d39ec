/**
 * Fixed-spectra NNLS on WebGPU: projected-gradient FISTA with adaptive restart, chunked over
 * pixels (shaders/nnls_prep.wgsl, shaders/nnls_fista.wgsl), and the KL variant by map-only
 * multiplicative updates (shaders/nnls_kl.wgsl). The float64 twins are in src/modes/nnls.ts.
 *
 * FISTA flow: B = DᵀX and the state (A = Y = 0, t = 1, f = 0) are set up span by span (X is
 * uploaded one span at a time, so X never has to fit one storage binding); then every iteration
 * is one dispatch per span of at most 65 535 workgroups, `checkEvery` iterations per submit. The
 * last iteration before a check writes per-workgroup partials [Σ‖Δa‖², Σ‖a‖², Σf]; the CPU sums
 * them per chunk in float64, retires the chunks that met ‖A⁺ − A‖/(‖A‖ + ε) ≤ tol (or maxIter)
 * and uploads the chunk mask. Chunks are rounded up to a multiple of the workgroup size (64).
 */
import { WebnmfError } from '../../errors.js';
import { gramAndLipschitz, klStart, type NNLSProgress, type ResolvedNNLS } from '../../modes/nnls.js';
import { SampledErrorStop } from '../../modes/common.js';
import type { Matrix, Matrix64 } from '../../types.js';
import { MAX_K, packParams } from '../kernels.js';
import { withModeGpu } from './context.js';

const WG = 64;
const MAX_WG_PER_DISPATCH = 65535;

export interface GpuNNLSHooks {
  signal?: AbortSignal;
  onProgress?: (p: NNLSProgress) => void;
  /** Use this device (tests); default: acquire one for the call. */
  device?: GPUDevice;
}

export interface GpuChunkedResult {
  H: Matrix64;
  chunkIterations: number[];
  converged: boolean;
  objective?: number[][];
  backendInfo: string;
}

function checkK(k: number): void {
  if (k > MAX_K) {
    throw new WebnmfError('usage', `WebGPU NNLS handles up to ${MAX_K} spectra (got ${k}); use backend 'cpu' for more`);
  }
}

function abortErr(signal: AbortSignal): WebnmfError {
  const err = new WebnmfError('runtime', 'NNLS aborted');
  err.name = 'AbortError';
  void signal;
  return err;
}

/** Float32 copy of the columns [p0, p0 + pc) of X (n × p) as an n × pc block. */
function spanBlock(X: Matrix, p0: number, pc: number): Float32Array<ArrayBuffer> {
  const n = X.rows;
  const p = X.cols;
  const out = new Float32Array(n * pc);
  for (let i = 0; i < n; i++) out.set(X.data.subarray(i * p + p0, i * p + p0 + pc), i * pc);
  return out;
}

function spans(p: number, maxLen: number): { p0: number; pc: number }[] {
  const out: { p0: number; pc: number }[] = [];
  for (let p0 = 0; p0 < p; p0 += maxLen) out.push({ p0, pc: Math.min(maxLen, p - p0) });
  return out;
}

export async function nnlsFistaGpu(
  X: Matrix,
  D: Matrix64,
  o: Pick<ResolvedNNLS, 'restart' | 'tol' | 'maxIter' | 'checkEvery' | 'chunkPixels' | 'recordObjective'>,
  hooks: GpuNNLSHooks = {},
): Promise<GpuChunkedResult> {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  checkK(k);
  return withModeGpu(hooks.device, async (g) => {
    const { device } = g.ctx;
    const chunk = Math.ceil(o.chunkPixels / WG) * WG;
    const nChunks = Math.ceil(p / chunk);
    const nWg = Math.ceil(p / WG);
    const { Q, L } = gramAndLipschitz(D);
    const consts = new Float32Array(1 + k * k);
    consts[0] = 1 / L;
    consts.set(Q, 1);

    const [prep, fista] = await Promise.all([g.cache.get('nnls_prep', k), g.cache.get('nnls_fista', k)]);
    const Dbuf = await g.upload(Float32Array.from(D.data), 'nnls D');
    const Cbuf = await g.upload(consts, 'nnls consts');
    const Bbuf = await g.storage(4 * k * p, 'nnls B');
    const Abuf = await g.storage(4 * k * p, 'nnls A');
    const Ybuf = await g.storage(4 * k * p, 'nnls Y');
    const Sbuf = await g.storage(8 * p, 'nnls state');
    const part = await g.storage(12 * nWg, 'nnls partials');
    const mask = new Uint32Array(nChunks).fill(1);
    const Mbuf = await g.upload(mask, 'nnls chunk mask');

    // Set-up, span by span (X uploaded per span).
    const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const prepLen = Math.max(WG, Math.min(MAX_WG_PER_DISPATCH * WG, Math.floor(maxBinding / (4 * n) / WG) * WG));
    const prepSpans = spans(p, prepLen);
    const Xbuf = await g.storage(4 * n * Math.min(prepLen, p), 'nnls X span');
    for (const s of prepSpans) {
      const P = await g.uniform(packParams({ n, p, k, p0: s.p0, pc: s.pc }), 'nnls prep params');
      device.queue.writeBuffer(Xbuf, 0, spanBlock(X, s.p0, s.pc));
      const bg = g.cache.bindGroup(prep, { P, X: Xbuf, D: Dbuf, B: Bbuf, A: Abuf, Y: Ybuf, S: Sbuf });
      g.sched.dispatch(prep, bg, Math.ceil(s.pc / WG));
      await g.sched.submit();
    }
    g.ctx.guard.check();

    // FISTA spans: chunk-aligned is not needed (the mask is indexed per pixel), WG-aligned is.
    const iterSpans = spans(p, MAX_WG_PER_DISPATCH * WG);
    const flagsBase = o.restart ? 1 : 0;
    const groups = await Promise.all(
      iterSpans.map(async (s) => {
        const common = { n, p, k, p0: s.p0, pc: s.pc, segLen: chunk, nSeg: nChunks };
        const Pplain = await g.uniform(packParams({ ...common, flags: flagsBase }), 'nnls fista params');
        const Pcheck = await g.uniform(packParams({ ...common, flags: flagsBase | 2 }), 'nnls fista params (check)');
        const buffers = { consts: Cbuf, B: Bbuf, chunkOn: Mbuf, A: Abuf, Y: Ybuf, S: Sbuf, part };
        return {
          wg: Math.ceil(s.pc / WG),
          plain: g.cache.bindGroup(fista, { P: Pplain, ...buffers }),
          check: g.cache.bindGroup(fista, { P: Pcheck, ...buffers }),
        };
      }),
    );

    const chunkIterations = new Array<number>(nChunks).fill(0);
    const done = new Array<boolean>(nChunks).fill(false);
    const conv = new Array<boolean>(nChunks).fill(false);
    const objective: number[][] = Array.from({ length: nChunks }, () => [0]);
    let it = 0;
    while (done.some((d) => !d)) {
      if (hooks.signal?.aborted) throw abortErr(hooks.signal);
      const steps = Math.min(o.checkEvery - (it % o.checkEvery), o.maxIter - it);
      for (let s = 0; s < steps; s++) {
        for (const grp of groups) g.sched.dispatch(fista, s === steps - 1 ? grp.check : grp.plain, grp.wg);
      }
      it += steps;
      const parts = await g.readF32(part, 12 * nWg);
      g.ctx.guard.check();
      for (let c = 0; c < nChunks; c++) {
        if (done[c]) continue;
        const w0 = (c * chunk) / WG;
        const w1 = Math.min(nWg, ((c + 1) * chunk) / WG);
        let dd = 0;
        let aa = 0;
        let f = 0;
        for (let w = w0; w < w1; w++) {
          dd += parts[3 * w];
          aa += parts[3 * w + 1];
          f += parts[3 * w + 2];
        }
        chunkIterations[c] = it;
        if (o.recordObjective) objective[c].push(f);
        if (Math.sqrt(dd) / (Math.sqrt(aa) + 1e-12) <= o.tol) {
          done[c] = true;
          conv[c] = true;
        } else if (it >= o.maxIter) done[c] = true;
        if (done[c]) mask[c] = 0;
      }
      device.queue.writeBuffer(Mbuf, 0, mask);
      hooks.onProgress?.({ done: done.filter(Boolean).length, total: nChunks });
    }
    const A32 = await g.readF32(Abuf, 4 * k * p);
    return {
      H: { rows: k, cols: p, data: Float64Array.from(A32.subarray(0, k * p)) },
      chunkIterations,
      converged: conv.every(Boolean),
      ...(o.recordObjective ? { objective } : {}),
      backendInfo: `webgpu: ${g.ctx.adapterInfo}`,
    };
  });
}

/** KL fixed-spectra fit on WebGPU: map-only multiplicative updates, sampled KL error. */
export async function nnlsKlGpu(
  X: Matrix,
  D: Matrix64,
  o: Pick<ResolvedNNLS, 'tol' | 'maxIter' | 'checkEvery' | 'patience'>,
  hooks: GpuNNLSHooks = {},
): Promise<{ H: Matrix64; iterations: number; converged: boolean; errors: number[]; backendInfo: string }> {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  checkK(k);
  return withModeGpu(hooks.device, async (g) => {
    const { device } = g.ctx;
    const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    if (4 * n * p > maxBinding) {
      throw new WebnmfError(
        'usage',
        `WebGPU KL NNLS keeps X resident: ${n} × ${p} float32 = ${4 * n * p} bytes exceeds this device's storage binding limit ${maxBinding}; ` +
          "split the pixels, or use backend 'cpu'",
      );
    }
    if (p > MAX_WG_PER_DISPATCH * WG) throw new WebnmfError('usage', `WebGPU KL NNLS handles up to ${MAX_WG_PER_DISPATCH * WG} pixels per call; split the pixels`);
    const nWg = Math.ceil(p / WG);
    const colSum = new Float32Array(k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) colSum[c] += D.data[i * k + c];
    const kern = await g.cache.get('nnls_kl', k);
    const Xbuf = await g.upload(spanBlock(X, 0, p), 'nnls-kl X');
    const Dbuf = await g.upload(Float32Array.from(D.data), 'nnls-kl D');
    const Cbuf = await g.upload(colSum, 'nnls-kl colsum');
    const Hbuf = await g.upload(Float32Array.from(klStart(X, D)), 'nnls-kl H');
    const part = await g.storage(4 * nWg, 'nnls-kl partials');
    const Pplain = await g.uniform(packParams({ n, p, k, p0: 0, pc: p, eps: 1e-14 }), 'nnls-kl params');
    const Perr = await g.uniform(packParams({ n, p, k, p0: 0, pc: p, eps: 1e-14, flags: 4 }), 'nnls-kl params (error only)');
    const buffers = { X: Xbuf, D: Dbuf, colsum: Cbuf, H: Hbuf, part };
    const bgPlain = g.cache.bindGroup(kern, { P: Pplain, ...buffers });
    const bgErr = g.cache.bindGroup(kern, { P: Perr, ...buffers });
    const sumParts = (a: Float32Array) => {
      let s = 0;
      for (let w = 0; w < nWg; w++) s += a[w];
      return s;
    };
    const rule = new SampledErrorStop({ tol: o.tol, patience: o.patience });
    g.sched.dispatch(kern, bgErr, nWg);
    const errors = [sumParts(await g.readF32(part, 4 * nWg))];
    rule.push(errors[0]);
    let it = 0;
    let converged = false;
    while (it < o.maxIter) {
      if (hooks.signal?.aborted) throw abortErr(hooks.signal);
      const steps = Math.min(o.checkEvery - (it % o.checkEvery), o.maxIter - it);
      for (let s = 0; s < steps; s++) g.sched.dispatch(kern, bgPlain, nWg);
      g.sched.dispatch(kern, bgErr, nWg); // the error of the new iterate
      it += steps;
      const e = sumParts(await g.readF32(part, 4 * nWg));
      g.ctx.guard.check();
      errors.push(e);
      hooks.onProgress?.({ done: it, total: o.maxIter });
      if (rule.push(e)) {
        converged = true;
        break;
      }
    }
    const H32 = await g.readF32(Hbuf, 4 * k * p);
    return {
      H: { rows: k, cols: p, data: Float64Array.from(H32.subarray(0, k * p)) },
      iterations: it,
      converged,
      errors,
      backendInfo: `webgpu: ${g.ctx.adapterInfo}`,
    };
  });
}
