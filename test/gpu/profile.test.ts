/**
 * Per-kernel GPU time from timestamp queries (the benchmark's profiling mode): every dispatch is
 * timed and attributed to its kernel, and profiling changes no result (same arithmetic, only
 * one compute pass per dispatch).
 */
import { describe, expect } from 'vitest';
import { createWebGPUBackend } from '../../src/gpu/index.js';
import { gpuSuite, makeProblem } from './harness.js';

const gpu = gpuSuite(import.meta.url);

describe('kernel profiling', () => {
  gpu.test('timestamps per kernel; results identical to an unprofiled fit', async (backend) => {
    const prob = makeProblem({ n: 21, rows: 9, cols: 11, k: 3, m: 5, maxIter: 20, lossEvery: 10, lambda: 1, mu: 0.1, simplex: 'h' });
    const plain = await backend.solve(prob);
    const profiled = await createWebGPUBackend({ device: backend.device, profileKernels: true });
    try {
      const r = await profiled.solve(prob);
      expect(r.H.data).toEqual(plain.H.data);
      expect(r.W.data).toEqual(plain.W.data);
      const stats = (r as unknown as { stats: { wUpdate: string; kernelTimes?: Record<string, { dispatches: number; ms: number }> } }).stats;
      if (!backend.device.features.has('timestamp-query')) {
        expect(stats.kernelTimes).toBeUndefined();
        return;
      }
      const times = stats.kernelTimes!;
      // the W-step kernel is the adapter's variant (w_update on CPU adapters, w_update_wg on GPUs)
      expect(['w_update', 'w_update_wg']).toContain(stats.wUpdate);
      for (const name of ['h_update', 'w_num', 'w_reduce', stats.wUpdate]) {
        expect(times[name]?.dispatches, name).toBe(20);
        expect(Number.isFinite(times[name].ms) && times[name].ms >= 0, `${name} ms`).toBe(true);
      }
      expect(times.loss.dispatches).toBe(3); // samples at 0, 10, 20
      expect(Object.values(times).reduce((a, t) => a + t.ms, 0)).toBeGreaterThan(0);
    } finally {
      profiled.dispose();
    }
  });
});
