/**
 * Fixed-spectra NNLS benchmark (HS-MOSAIC's fixed-H NNLS): a 512 × 512 × 32 spectrum image,
 * k = 4 overlapping Gaussian resonances, maps ≥ 0 with ~25 % exact zeros, Gaussian noise.
 * Prints one JSON object: pixels per second of
 *   - WebGPU FISTA with adaptive restart (whole call: upload, set-up, iterations, read-back),
 *   - WebGPU FISTA without restart (iterations to the same tol),
 *   - CPU active set (Lawson–Hanson per pixel, float64) on a pixel subset,
 *   - CPU FISTA (float64) on a pixel subset,
 * plus iteration counts (max over chunks) with and without restart and the objective gap of the
 * GPU result to the exact active-set solution on the subset.
 *
 * Build and run:
 *   npx tsc -p tsconfig.json && VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json node dist/bench/modes.js [rows] [cpuPixels]
 */
import { nnlsActiveSetCpu, nnlsFistaCpu } from '../src/modes/nnls.js';
import type { Matrix64 } from '../src/types.js';

const rows = Number(process.argv[2] ?? 512);
const cols = rows;
const cpuPixels = Number(process.argv[3] ?? 4096);
const n = 32;
const k = 4;
const p = rows * cols;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const r = rng(1);
const centres = [10, 14, 18, 22];
const D: Matrix64 = { rows: n, cols: k, data: new Float64Array(n * k) };
for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) D.data[i * k + c] = 5 + 100 * Math.exp(-((i - centres[c]) ** 2) / (2 * 3.5 * 3.5));
const X: Matrix64 = { rows: n, cols: p, data: new Float64Array(n * p) };
{
  const h = new Float64Array(k);
  for (let j = 0; j < p; j++) {
    for (let c = 0; c < k; c++) h[c] = r() < 0.25 ? 0 : r();
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += D.data[i * k + c] * h[c];
      X.data[i * p + j] = Math.max(s + 2 * (r() - 0.5), 0);
    }
  }
}
const sub: Matrix64 = { rows: n, cols: cpuPixels, data: new Float64Array(n * cpuPixels) };
for (let i = 0; i < n; i++) sub.data.set(X.data.subarray(i * p, i * p + cpuPixels), i * cpuPixels);

const objective = (Xm: Matrix64, H: Matrix64, p0: number, pc: number): number => {
  let s = 0;
  for (let j = 0; j < pc; j++) {
    for (let i = 0; i < n; i++) {
      let y = 0;
      for (let c = 0; c < k; c++) y += D.data[i * k + c] * H.data[c * H.cols + p0 + j];
      s += (Xm.data[i * Xm.cols + j] - y) ** 2;
    }
  }
  return 0.5 * s;
};

const opts = { tol: 1e-4, maxIter: 1000, checkEvery: 10, chunkPixels: 32768, recordObjective: false };
const out: Record<string, unknown> = { problem: { rows, cols, channels: n, k, pixels: p, chunkPixels: opts.chunkPixels, tol: opts.tol, maxIter: opts.maxIter } };

let t = performance.now();
const exact = await nnlsActiveSetCpu(sub, D);
let s = (performance.now() - t) / 1000;
out['cpuActiveSet'] = { pixels: cpuPixels, seconds: s, pixelsPerSecond: cpuPixels / s };
const fExact = objective(sub, exact.H, 0, cpuPixels);

t = performance.now();
const cf = await nnlsFistaCpu(sub, D, { ...opts, restart: true });
s = (performance.now() - t) / 1000;
out['cpuFista'] = { pixels: cpuPixels, seconds: s, pixelsPerSecond: cpuPixels / s, maxChunkIterations: Math.max(...cf.chunkIterations), objectiveGap: objective(sub, cf.H, 0, cpuPixels) / fExact - 1 };

try {
  const { webgpuAvailable } = await import('../src/gpu/index.js');
  const probe = await webgpuAvailable();
  if (!probe.ok) throw new Error(probe.reason);
  const { nnlsFistaGpu } = await import('../src/gpu/modes/nnls.js');
  await nnlsFistaGpu(sub, D, { ...opts, restart: true }); // warm-up: device, compile
  for (const restart of [true, false]) {
    t = performance.now();
    const g = await nnlsFistaGpu(X, D, { ...opts, restart });
    s = (performance.now() - t) / 1000;
    out[restart ? 'gpuFistaRestart' : 'gpuFistaNoRestart'] = {
      pixels: p,
      seconds: s,
      pixelsPerSecond: p / s,
      maxChunkIterations: Math.max(...g.chunkIterations),
      chunkIterations: g.chunkIterations,
      converged: g.converged,
      objectiveGapOnSubset: objective(sub, g.H, 0, cpuPixels) / fExact - 1,
      device: g.backendInfo,
    };
  }
} catch (e) {
  out['gpu'] = { error: (e as Error).message };
}
console.log(JSON.stringify(out, null, 2));
