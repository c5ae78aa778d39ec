/**
 * Randomized PCA on WebGPU (Halko, Martinsson & Tropp 2011, subspace iteration with
 * re-orthonormalisation, then Rayleigh–Ritz): with C = Z Zᵀ (n × n, never formed),
 *   Q ← orth(Ω) (n × l Gaussian, l = k + oversamples ≤ 32),
 *   repeat powerIterations times: Q ← orth(C Q),
 *   M = Qᵀ C Q (l × l), M = V Λ Vᵀ, loadings = Q V[:, :k], variance = Λ / (p − 1).
 * Each C Q is two kernels on the GPU (shaders/pca_ztq.wgsl: A = Zᵀ Q, p × l; shaders/pca_zza.wgsl:
 * Y = Z A, n × l); the n × l results come back and the small algebra runs in float64 on the CPU.
 * Z (the scaled, centred data, n × p) is uploaded once as float32.
 */
import { symmetricEigen } from '../../cpu/linalg.js';
import { WebnmfError } from '../../errors.js';
import { createRandom } from '../../random.js';
import type { Matrix64 } from '../../types.js';
import { packParams } from '../kernels.js';
import { withModeGpu } from './context.js';

const WG = 64;
export const PCA_MAX_SKETCH = 32;

/** Modified Gram–Schmidt (twice) on the columns of Y (n × l), in place; returns Y. */
export function orthonormalize(Y: Float64Array, n: number, l: number): Float64Array {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < l; c++) {
      for (let b = 0; b < c; b++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += Y[i * l + b] * Y[i * l + c];
        for (let i = 0; i < n; i++) Y[i * l + c] -= d * Y[i * l + b];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += Y[i * l + c] ** 2;
      s = Math.sqrt(s);
      if (s > 0) for (let i = 0; i < n; i++) Y[i * l + c] /= s;
    }
  }
  return Y;
}

export async function pcaRandomizedGpu(
  Z: Matrix64,
  k: number,
  o: { seed: number; oversamples: number; powerIterations: number; device?: GPUDevice },
): Promise<{ P: Matrix64; variance: Float64Array; backendInfo: string }> {
  const n = Z.rows;
  const p = Z.cols;
  if (k > PCA_MAX_SKETCH) throw new WebnmfError('usage', `WebGPU PCA computes up to ${PCA_MAX_SKETCH} components (got ${k}); use backend 'cpu'`);
  const l = Math.min(n, k + o.oversamples, PCA_MAX_SKETCH);
  return withModeGpu(o.device, async (g) => {
    const { device } = g.ctx;
    const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    if (4 * n * p > maxBinding || 4 * p * l > maxBinding) {
      throw new WebnmfError('usage', `WebGPU PCA keeps Z resident: ${n} × ${p} float32 exceeds this device's storage binding limit ${maxBinding}; use backend 'cpu'`);
    }
    if (Math.ceil(p / WG) > 65535 || n > 65535) throw new WebnmfError('usage', `WebGPU PCA handles up to ${65535 * WG} pixels and 65535 channels; use backend 'cpu'`);
    const [ztq, zza] = await Promise.all([g.cache.get('pca_ztq', l), g.cache.get('pca_zza', l)]);
    const Zbuf = await g.upload(Float32Array.from(Z.data), 'pca Z');
    const Qbuf = await g.storage(4 * n * l, 'pca Q');
    const Abuf = await g.storage(4 * p * l, 'pca A');
    const Ybuf = await g.storage(4 * n * l, 'pca Y');
    const P = await g.uniform(packParams({ n, p, k: l }), 'pca params');
    const bg1 = g.cache.bindGroup(ztq, { P, Z: Zbuf, Q: Qbuf, A: Abuf });
    const bg2 = g.cache.bindGroup(zza, { P, Z: Zbuf, A: Abuf, Y: Ybuf });
    const applyC = async (Q: Float64Array): Promise<Float64Array> => {
      device.queue.writeBuffer(Qbuf, 0, Float32Array.from(Q));
      g.sched.dispatch(ztq, bg1, Math.ceil(p / WG));
      g.sched.dispatch(zza, bg2, n);
      const Y = await g.readF32(Ybuf, 4 * n * l);
      g.ctx.guard.check();
      return Float64Array.from(Y.subarray(0, n * l));
    };
    const rnd = createRandom(o.seed);
    let Q = orthonormalize(Float64Array.from({ length: n * l }, () => rnd.normal()), n, l);
    for (let t = 0; t < o.powerIterations; t++) Q = orthonormalize(await applyC(Q), n, l);
    const CQ = await applyC(Q);
    const M = new Float64Array(l * l);
    for (let a = 0; a < l; a++) {
      for (let b = 0; b < l; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += Q[i * l + a] * CQ[i * l + b];
        M[a * l + b] = s;
      }
    }
    for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) M[a * l + b] = M[b * l + a] = 0.5 * (M[a * l + b] + M[b * l + a]);
    const eig = symmetricEigen({ rows: l, cols: l, data: M });
    const order = [...eig.values.keys()].sort((x, y) => eig.values[y] - eig.values[x]).slice(0, k);
    const Pm = new Float64Array(n * k);
    const variance = new Float64Array(k);
    order.forEach((src, c) => {
      variance[c] = Math.max(eig.values[src], 0) / Math.max(p - 1, 1);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let b = 0; b < l; b++) s += Q[i * l + b] * eig.vectors.data[b * l + src];
        Pm[i * k + c] = s;
      }
    });
    return { P: { rows: n, cols: k, data: Pm }, variance, backendInfo: `webgpu: ${g.ctx.adapterInfo}` };
  });
}
