/**
 * The WebGPU engine: `createWebGPUBackend` returns a `Backend` (plus `solveBatch`) that runs
 * ESPM's SmoothNMF, plain KL and Frobenius NMF on one device.
 */
import { WebnmfError } from '../errors.js';
import type { Backend, Problem, SolveHooks, SolveResult } from '../types.js';
import { acquireDevice, webgpuAvailable, type GpuContext } from './device.js';
import { KernelCache } from './kernels.js';
import { BufferPool } from './pool.js';
import { WaitModel } from './scheduler.js';
import { solveBatchGpu, unsupportedReason, type EngineOptions } from './solve.js';

export { webgpuAvailable, unsupportedReason };
export type { EngineOptions };

export interface WebGPUBackendOptions extends EngineOptions {
  /** Use this device instead of acquiring one (it is not destroyed by dispose()). */
  device?: GPUDevice;
}

export interface WebGPUBackend extends Backend {
  readonly name: 'webgpu';
  readonly adapterInfo: string;
  /** A software adapter (lavapipe, SwiftShader, WARP): some defaults differ there (EngineOptions). */
  readonly software: boolean;
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** Solves problems sharing the same X together, in the same dispatches. */
  solveBatch(problems: readonly Problem[], hooks?: SolveHooks): Promise<SolveResult[]>;
}

export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const ctx: GpuContext = await acquireDevice(opts.device);
  const cache = new KernelCache(ctx.device);
  const pool = new BufferPool(ctx.device);
  const waits = new WaitModel();
  let disposed = false;
  // One fit at a time per backend: fits share the pool, the kernels and the device guard.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const check = () => {
    if (disposed) throw new WebnmfError('usage', 'this WebGPU backend was disposed');
  };
  return {
    name: 'webgpu',
    adapterInfo: ctx.adapterInfo,
    software: ctx.software,
    device: ctx.device,
    pool,
    solve: (problem, hooks) =>
      serial(async () => {
        check();
        return (await solveBatchGpu(ctx, cache, pool, waits, [problem], hooks, opts))[0];
      }),
    solveBatch: (problems, hooks) =>
      serial(async () => {
        check();
        return solveBatchGpu(ctx, cache, pool, waits, problems, hooks, opts);
      }),
    dispose() {
      if (disposed) return;
      disposed = true;
      pool.dispose();
      if (ctx.ownsDevice) ctx.device.destroy();
    },
  };
}
