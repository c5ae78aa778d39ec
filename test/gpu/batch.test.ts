/**
 * Batched fits equal the same fits run one by one; chunked fits equal unchunked ones; packed-u16
 * X equals float32 X; dispose() returns the pool to zero bytes over 50 fits.
 * Equality is float32-exact where the arithmetic is the same (batching only changes the dispatch
 * index) and within 1e-5 relative where the summation order differs (chunk and segment
 * boundaries move the partial sums).
 */
import { describe, expect } from 'vitest';
import { createWebGPUBackend } from '../../src/gpu/index.js';
import { SPARSE_MIN_ZERO_FRACTION } from '../../src/gpu/solve.js';
import { expectClose } from '../helpers/compare.js';
import { gpuSuite, makeProblem, type ProblemSpec } from './harness.js';
import type { Problem, SolveResult } from '../../src/types.js';

const gpu = gpuSuite(import.meta.url);

const base: ProblemSpec = { n: 21, rows: 9, cols: 11, k: 3, m: 5, maxIter: 25, lossEvery: 5, snapshots: [10] };

describe('batching', () => {
  gpu.test('B problems (different λ, μ, ε_reg, starts, tol, stopping) = the same fits one by one', async (backend) => {
    const p0 = makeProblem({ ...base, lambda: 2, mu: 0.05, simplex: 'h' });
    const variants = [
      p0,
      { ...makeProblem({ ...base, lambda: 0.5, mu: [0.1, 0, 0.02], simplex: 'h', startSeed: 77 }), X: p0.X, G: p0.G },
      { ...makeProblem({ ...base, lambda: 0, mu: 0, simplex: 'h', startSeed: 5 }), X: p0.X, G: p0.G, epsilonReg: 0.3 },
      { ...makeProblem({ ...base, lambda: 1, mu: 0.2, simplex: 'h', startSeed: 9, noStop: false, tol: 5e-2, maxIter: 40 }), X: p0.X, G: p0.G },
    ];
    const batch = await backend.solveBatch(variants);
    for (const [b, prob] of variants.entries()) {
      const one = await backend.solve(prob);
      expect(batch[b].nIter, `problem ${b} nIter`).toBe(one.nIter);
      expect(batch[b].stopReason, `problem ${b} stopReason`).toBe(one.stopReason);
      expect(batch[b].W.data, `problem ${b} W`).toEqual(one.W.data);
      expect(batch[b].H.data, `problem ${b} H`).toEqual(one.H.data);
      expect(batch[b].losses, `problem ${b} losses`).toEqual(one.losses);
      expect(batch[b].snapshots.get(10)?.H.data).toEqual(one.snapshots.get(10)?.H.data);
    }
    expect(batch[3].stopReason).not.toBe('max_iter');
  });

  gpu.test("majorizer 'tight' (λ = 0 among the candidates) = the same fits one by one", async (backend) => {
    const p0 = makeProblem({ ...base, lambda: 2, mu: 0.05, simplex: 'h', majorizer: 'tight' });
    const variants = [
      p0,
      { ...makeProblem({ ...base, lambda: 0, mu: 0.1, simplex: 'h', majorizer: 'tight', startSeed: 4 }), X: p0.X, G: p0.G },
      { ...makeProblem({ ...base, lambda: 8, mu: 0, simplex: 'h', majorizer: 'tight', startSeed: 6 }), X: p0.X, G: p0.G },
    ];
    const batch = await backend.solveBatch(variants);
    for (const [b, prob] of variants.entries()) {
      const one = await backend.solve(prob);
      expect(batch[b].W.data, `problem ${b} W`).toEqual(one.W.data);
      expect(batch[b].H.data, `problem ${b} H`).toEqual(one.H.data);
      expect(batch[b].losses, `problem ${b} losses`).toEqual(one.losses);
    }
    await expect(backend.solveBatch([p0, { ...p0, majorizer: 'espm' }])).rejects.toThrow(/majorizer/);
  });

  gpu.test('Frobenius and plain KL batches', async (backend) => {
    for (const spec of [{ ...base, m: 0, loss: 'frobenius' as const }, { ...base, m: 0 }]) {
      const a = makeProblem(spec);
      const b = { ...makeProblem({ ...spec, startSeed: 3 }), X: a.X };
      const [ra, rb] = await backend.solveBatch([a, b]);
      const [sa, sb] = [await backend.solve(a), await backend.solve(b)];
      expect(ra.H.data).toEqual(sa.H.data);
      expect(rb.W.data).toEqual(sb.W.data);
    }
  });

  gpu.test('problems with different X are refused', async (backend) => {
    const a = makeProblem(base);
    const b = makeProblem({ ...base, seed: 99 });
    await expect(backend.solveBatch([a, b])).rejects.toThrow(/same X/);
  });
});

describe('chunking and packing', () => {
  for (const [name, spec] of Object.entries({
    notebook: { ...base, lambda: 2, mu: 0.05, simplex: 'h' as const },
    tight: { ...base, lambda: 2, mu: 0.05, simplex: 'h' as const, majorizer: 'tight' as const },
    plain_kl: { ...base, m: 0, rows: 7, cols: 13 },
    simplex_w: { ...base, simplex: 'w' as const },
    frobenius: { ...base, m: 0, loss: 'frobenius' as const },
    frobenius_g: { ...base, loss: 'frobenius' as const },
  })) {
    gpu.test(`${name}: chunks of 10 and 33 pixels (odd image, chunk edges inside rows) = unchunked, also with the GPU kernel variants`, async (backend) => {
      const prob = makeProblem(spec);
      const ref = await backend.solve(prob);
      for (const [chunkPixels, variants] of [[10, {}], [33, {}], [10, { wUpdate: 'workgroup', hSplit: 4 }], [33, { wUpdate: 'columns', hSplit: 16 }]] as const) {
        const chunked = await createWebGPUBackend({ device: backend.device, chunkPixels, ...variants });
        try {
          const res = await chunked.solve(prob);
          // other summation order over 25 iterations: 1e-5 relative, or 1e-6 of the largest entry
          expectClose(res.H.data, ref.H.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.H.data) }, `${name} H (chunk ${chunkPixels})`);
          expectClose(res.W.data, ref.W.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.W.data) }, `${name} W (chunk ${chunkPixels})`);
          expectClose(res.losses.map((s) => s.full), ref.losses.map((s) => s.full), { rel: 1e-6 }, `${name} losses`);
        } finally {
          chunked.dispose();
        }
      }
    });
  }

  gpu.test('X packed as u16 counts = X as float32', async (backend) => {
    const prob = makeProblem({ ...base, lambda: 1, simplex: 'h' });
    const scale = 0.0123;
    const scaled = { ...prob, X: { ...prob.X, data: prob.X.data.map((v) => v * scale) } };
    const packed = await backend.solve(scaled);
    const plain = await createWebGPUBackend({ device: backend.device, packX: false });
    try {
      const res = await plain.solve(scaled);
      expectClose(packed.H.data, res.H.data, { rel: 1e-5, abs: 1e-9 }, 'H packed vs f32');
      expectClose(packed.losses.map((s) => s.full), res.losses.map((s) => s.full), { rel: 1e-6 }, 'losses packed vs f32');
    } finally {
      plain.dispose();
    }
    // non-integer data falls back to float32 and still fits
    const cont = makeProblem({ ...base, integer: false });
    expect((await backend.solve(cont)).nIter).toBe(25);
  });

  gpu.test("ESPM's ε fill of all-zero lines stays u16 (a sentinel count) = X as float32", async (backend) => {
    const prob = makeProblem({ ...base, lambda: 1, simplex: 'h' });
    const { rows: n, cols: p } = prob.X;
    const data = Float64Array.from(prob.X.data, (v) => v * 0.0123);
    data.fill(1e-14 * 0.0123, 2 * p, 3 * p); // channel 2 was all zero
    for (let i = 0; i < n; i++) data[i * p + 5] = 1e-14 * 0.0123; // and pixel 5
    const filled = { ...prob, X: { rows: n, cols: p, data } };
    const packed = await backend.solve(filled);
    expect((packed as unknown as { stats?: { xLayout?: string } }).stats?.xLayout).toBe('u16');
    const plain = await createWebGPUBackend({ device: backend.device, packX: false });
    try {
      const res = await plain.solve(filled);
      expectClose(packed.H.data, res.H.data, { rel: 1e-5, abs: 1e-9 }, 'H u16 with fill vs f32');
      expectClose(packed.W.data, res.W.data, { rel: 1e-5, abs: 1e-6 * Math.max(...res.W.data) }, 'W u16 with fill vs f32');
      expectClose(packed.losses.map((s) => s.full), res.losses.map((s) => s.full), { rel: 1e-6 }, 'losses u16 with fill vs f32');
    } finally {
      plain.dispose();
    }
  });
});

describe('sparse X (nonzero counts only)', () => {
  /** The engine's X layout, from its stats (not part of the SolveResult contract). */
  const layoutOf = (r: SolveResult) => (r as unknown as { stats?: { xLayout?: string } }).stats?.xLayout;
  /** The problem with about 80 % of X zeroed (counts stay integers). */
  const sparsified = (prob: Problem): Problem => ({ ...prob, X: { ...prob.X, data: Float64Array.from(prob.X.data, (v, j) => ((j * 7919) % 10 < 8 ? 0 : v)) } });
  for (const [name, spec] of Object.entries({
    notebook: { ...base, lambda: 2, mu: 0.05, simplex: 'h' as const },
    tight: { ...base, lambda: 2, mu: 0.05, simplex: 'h' as const, majorizer: 'tight' as const },
    plain_kl: { ...base, m: 0, rows: 7, cols: 13 },
    simplex_w: { ...base, simplex: 'w' as const },
  })) {
    gpu.test(`${name}: sparse = dense, also chunked (10 pixels) and batched, also with the GPU kernel variants`, async (backend) => {
      const prob = sparsified(makeProblem(spec));
      const dense = await createWebGPUBackend({ device: backend.device, sparseX: false });
      const sparse = await createWebGPUBackend({ device: backend.device, sparseX: true });
      const chunked = await createWebGPUBackend({ device: backend.device, sparseX: true, chunkPixels: 10 });
      // the GPUs' W step and split H step (EngineOptions wUpdate, hSplit), chunked and batched
      const gpuKernels = await createWebGPUBackend({ device: backend.device, sparseX: true, chunkPixels: 10, wUpdate: 'workgroup', hSplit: 8 });
      try {
        const ref = await dense.solve(prob);
        expect(layoutOf(ref)).toBe('u16');
        const other = { ...prob, lambda: prob.lambda / 2 };
        for (const [tag, res] of [['sparse', await sparse.solve(prob)], ['chunked', await chunked.solve(prob)], ['batched', (await sparse.solveBatch([other, prob]))[1]], ['GPU kernels, chunked, batched', (await gpuKernels.solveBatch([other, prob]))[1]]] as const) {
          expect(layoutOf(res), tag).toBe('sparse');
          expectClose(res.H.data, ref.H.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.H.data) }, `${name} H (${tag})`);
          expectClose(res.W.data, ref.W.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.W.data) }, `${name} W (${tag})`);
          expectClose(res.losses.map((s) => s.full), ref.losses.map((s) => s.full), { rel: 2e-6 }, `${name} losses (${tag})`);
        }
      } finally {
        dense.dispose();
        sparse.dispose();
        chunked.dispose();
        gpuKernels.dispose();
      }
    });
  }

  for (const [name, spec] of Object.entries({
    notebook: { ...base, lambda: 2, mu: 0.05, simplex: 'h' as const },
    plain_kl: { ...base, m: 0, rows: 7, cols: 13 },
  })) {
    gpu.test(`${name}: ESPM's ε-filled empty channels, left out of the sparse layout, = dense with their sentinel`, async (backend) => {
      const prob = sparsified(makeProblem(spec));
      const { rows: n, cols: p } = prob.X;
      const eps = 1e-14 * 0.5;
      const data = prob.X.data.slice();
      for (const i of [1, n - 1]) data.fill(eps, i * p, (i + 1) * p); // empty channels
      for (let i = 0; i < n; i++) data[i * p + 3] = eps; // an empty pixel (kept as sentinels)
      const filled = { ...prob, X: { rows: n, cols: p, data } };
      const dense = await createWebGPUBackend({ device: backend.device, sparseX: false });
      try {
        const ref = await dense.solve(filled);
        const res = await backend.solve(filled); // 'auto': the ε channels count as zeros
        expect(layoutOf(ref)).toBe('u16');
        expect(layoutOf(res)).toBe('sparse');
        expectClose(res.H.data, ref.H.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.H.data) }, `${name} H`);
        expectClose(res.W.data, ref.W.data, { rel: 1e-5, abs: 1e-6 * Math.max(...ref.W.data) }, `${name} W`);
        expectClose(res.losses.map((q) => q.full), ref.losses.map((q) => q.full), { rel: 2e-6 }, `${name} losses`);
      } finally {
        dense.dispose();
      }
    });
  }

  gpu.test("'auto' takes the sparse layout from SPARSE_MIN_ZERO_FRACTION zeros on (per adapter kind); sparseX: true where it cannot apply is refused", async (backend) => {
    const prob = makeProblem({ ...base, lambda: 1, simplex: 'h' });
    const layout = async (q: Problem) => layoutOf(await backend.solve(q));
    const threshold = SPARSE_MIN_ZERO_FRACTION[backend.software ? 'software' : 'gpu'];
    for (const tenths of [0, 7, 9]) {
      const q = { ...prob, X: { ...prob.X, data: Float64Array.from(prob.X.data, (v, j) => ((j * 7919) % 10 < tenths ? 0 : v)) } };
      const zeros = q.X.data.filter((v) => v === 0).length / q.X.data.length;
      expect(await layout(q), `${(100 * zeros).toFixed(1)} % zeros`).toBe(zeros >= threshold ? 'sparse' : 'u16');
    }
    const forced = await createWebGPUBackend({ device: backend.device, sparseX: true });
    try {
      await expect(forced.solve(makeProblem({ ...base, loss: 'frobenius' }))).rejects.toThrow(/sparseX.*Frobenius/);
      await expect(forced.solve(makeProblem({ ...base, integer: false }))).rejects.toThrow(/sparseX.*integer counts/);
    } finally {
      forced.dispose();
    }
  });
});

describe('buffer pool', () => {
  gpu.test('50 fits: nothing in use after each fit, no growth, dispose() returns to zero bytes', async (backend) => {
    const own = await createWebGPUBackend({ device: backend.device });
    const prob = makeProblem({ ...base, maxIter: 3, lossEvery: 1, snapshots: [2] });
    let allocatedAfterFirst = 0;
    for (let i = 0; i < 50; i++) {
      await (i % 5 === 4 ? own.solveBatch([prob, prob]) : own.solve(prob));
      expect(own.pool.bytesInUse, `fit ${i}: bytes in use`).toBe(0);
      if (i === 0) allocatedAfterFirst = own.pool.bytesAllocated;
    }
    expect(own.pool.peakBytes).toBeGreaterThan(0);
    // batches of 2 need bigger buffers once; after that everything is reused
    expect(own.pool.bytesAllocated).toBeLessThanOrEqual(3 * allocatedAfterFirst);
    own.dispose();
    expect(own.pool.bytesAllocated).toBe(0);
    expect(own.pool.bytesInUse).toBe(0);
    await expect(own.solve(prob)).rejects.toThrow(/disposed/);
  });
});
