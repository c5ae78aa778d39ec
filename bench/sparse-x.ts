/**
 * Dense (u16) vs sparse X on one engine, interleaved in one process (the machine is shared and
 * noisy): ms per iteration of the same fit, on generated EDX-like cubes of given sparsity.
 *   npx tsc -p tsconfig.json && node dist/bench/sparse-x.js [rows,cols,channels,countsPerPixel[,background] ...]
 * Default cubes: 128×128×1024 at 300 counts/pixel (~85 % zeros) and 96×96×2048 at 100 (~96 %),
 * background 0.2. With background 0 the generator leaves channels empty (ESPM's ε fill: the
 * sparse layout leaves them out, the dense one stores their sentinel).
 * Env: PROFILE=1 adds per-kernel GPU times (one timestamped pass per dispatch).
 */
import { prepareProblem } from '../src/estimator.js';
import { createWebGPUBackend } from '../src/gpu/index.js';
import { makeSyntheticDataset } from '../src/synth.js';

const specs = process.argv.slice(2).length ? process.argv.slice(2) : ['128,128,1024,300', '96,96,2048,100'];
const iters = 20;
const repeats = 3;
const profile = process.env.PROFILE === '1';
const dense = await createWebGPUBackend({ sparseX: false, profileKernels: profile });
const sparse = await createWebGPUBackend({ device: dense.device, sparseX: true, profileKernels: profile });
console.log(`adapter: ${dense.adapterInfo}`);
for (const spec of specs) {
  const [rows, cols, channels, counts, background = 0.2] = spec.split(',').map(Number);
  const ds = makeSyntheticDataset({ rows, cols, channels, k: 4, gPeaks: 15, countsPerPixel: counts, seed: 7, background });
  let zeros = 0;
  for (const v of ds.X.data) if (v === 0) zeros++;
  let empty = 0;
  for (let i = 0; i < channels; i++) if (ds.X.data.subarray(i * rows * cols, (i + 1) * rows * cols).every((v) => v === 0)) empty++;
  const { problem } = prepareProblem(ds.X, { components: 3, G: ds.G, shape: ds.shape, simplex: 'h', lambda: 2, mu: 0.05, normalize: true, maxIter: iters, noStop: true, lossEvery: 10, seed: 0, init: 'random' });
  await dense.solve({ ...problem, maxIter: 2 });
  await sparse.solve({ ...problem, maxIter: 2 });
  const ms: Record<string, number[]> = { dense: [], sparse: [] };
  let losses = '';
  for (let r = 0; r < repeats; r++) {
    for (const [name, be] of [['dense', dense], ['sparse', sparse]] as const) {
      const t = performance.now();
      const res = await be.solve(problem);
      ms[name].push((performance.now() - t) / iters);
      if (r === 0) losses += ` ${name} loss ${res.losses.at(-1)!.full.toPrecision(8)}`;
      const kt = (res as unknown as { stats?: { kernelTimes?: Record<string, { ms: number }> } }).stats?.kernelTimes;
      if (kt && r === 0) console.log(`  ${name} kernels ms/it: ${Object.entries(kt).map(([k, v]) => `${k} ${(v.ms / iters).toFixed(1)}`).join(', ')}`);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`${rows}×${cols}×${channels}, ${counts} counts/pixel, ${(100 * zeros / ds.X.data.length).toFixed(1)} % zeros, ${empty} empty channels: dense ${med(ms.dense).toFixed(1)} ms/it, sparse ${med(ms.sparse).toFixed(1)} ms/it (median of ${repeats}, interleaved), ratio ${(med(ms.dense) / med(ms.sparse)).toFixed(2)}×;${losses}`);
}
dense.dispose();
sparse.dispose();
process.exit(0);
