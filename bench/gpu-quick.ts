/**
 * Quick WebGPU engine benchmark on the ESPM toy problem (whole process: device + compile + fit).
 * Build and run:  npx tsc -p tsconfig.json && VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json node dist/bench/gpu-quick.js [setting] [iters]
 * setting: b_notebook (default) | a_plain_kl; a third argument B > 1 runs B copies as one batch.
 * Compares with ESPM's iterates when iters = 200. Knobs (env): PACKX=0 (float32 X instead of u16
 * counts), LOSS_EVERY (default 10), PER_SUBMIT (iterations per submit, default 10), PROFILE=1
 * (per-kernel timestamp times in stats.kernelTimes), CPT (w_num channels per thread), SEGLEN (w_num pixels
 * per segment).
 * Wall time is unreliable on a shared machine; the process CPU time is printed too. A cold Mesa
 * shader cache (first run, or MESA_SHADER_CACHE_DISABLE=true) adds several seconds of LLVM compile.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseNpy } from '../src/io/npy.js';
import { createWebGPUBackend } from '../src/gpu/index.js';
import type { Matrix64, Problem } from '../src/types.js';

const tStart = performance.now();
const setting = process.argv[2] ?? 'b_notebook';
const iters = Number(process.argv[3] ?? 200);
const batch = Number(process.argv[4] ?? 1);
const dir = new URL('../../shared/fixtures/espm-toy/', import.meta.url);
const findDir = (): URL => {
  for (const up of ['../../shared/fixtures/espm-toy/', '../../../shared/fixtures/espm-toy/']) {
    const u = new URL(up, import.meta.url);
    try {
      readFileSync(new URL('toy.json', u));
      return u;
    } catch {
      /* next */
    }
  }
  return dir;
};
const base = findDir();
const load = (name: string): Matrix64 => {
  const a = parseNpy(new Uint8Array(readFileSync(fileURLToPath(new URL(name, base)))));
  return { rows: a.shape[0], cols: a.shape[1] ?? 1, data: a.data };
};
const run = JSON.parse(readFileSync(fileURLToPath(new URL(`${setting}/run.json`, base)), 'utf8'));
const X0 = load('X.npy');
const s = run.norm_factor as number;
const X: Matrix64 = { rows: X0.rows, cols: X0.cols, data: X0.data.map((v) => v * s) };
const par = run.params;
const k = par.n_components as number;
const problem: Problem = {
  X,
  G: par.G_given ? load('G.npy') : undefined,
  components: k,
  loss: 'kl',
  lambda: par.lambda_L,
  mu: new Float64Array(k).fill(par.mu),
  epsilonReg: par.epsilon_reg,
  simplex: par.simplex_H ? 'h' : 'none',
  simplexSolver: 'exact',
  simplexTol: 1e-10,
  majorizer: 'espm',
  shape: { rows: par.shape_2d[0], cols: par.shape_2d[1] },
  W0: load(`${setting}/W0.npy`),
  H0: load(`${setting}/H0.npy`),
  maxIter: iters,
  tol: par.tol,
  lossEvery: Number(process.env.LOSS_EVERY ?? 10),
  noStop: true,
  snapshots: [],
};
const tLoad = performance.now();
const cpu0 = process.cpuUsage();
const backend = await createWebGPUBackend({ packX: process.env.PACKX !== '0', itersPerSubmit: Number(process.env.PER_SUBMIT ?? 10), profileKernels: process.env.PROFILE === '1', channelsPerThread: process.env.CPT ? Number(process.env.CPT) : undefined, segLen: process.env.SEGLEN ? Number(process.env.SEGLEN) : undefined, trace: (ph, ms) => console.log(`  ${ph}: ${ms.toFixed(0)} ms`) });
const tDev = performance.now();
const res = batch > 1 ? (await backend.solveBatch(Array(batch).fill(problem)))[0] : await backend.solve(problem);
const tFit = performance.now();
const cpu1 = process.cpuUsage(cpu0);
backend.dispose();
const tEnd = performance.now();
const stats = (res as unknown as { stats?: object }).stats;
console.log(`${setting}: ${iters} iterations × ${batch} on ${res.backendInfo}`);
console.log(`load ${(tLoad - tStart).toFixed(0)} ms, device ${(tDev - tLoad).toFixed(0)} ms, fit ${(tFit - tDev).toFixed(0)} ms (incl. compile), dispose ${(tEnd - tFit).toFixed(0)} ms`);
console.log(`fit rate ${((iters * batch) / ((tFit - tDev) / 1000)).toFixed(1)} it/s; device+compile+fit ${((iters * batch) / ((tFit - tLoad) / 1000)).toFixed(1)} it/s; stats ${JSON.stringify(stats)}`);
console.log(`process CPU time device+compile+fit ${((cpu1.user + cpu1.system) / 1000).toFixed(0)} ms = ${((cpu1.user + cpu1.system) / 1000 / (iters * batch)).toFixed(2)} ms/iteration (wall time is unreliable on a shared machine)`);
console.log(`final loss ${res.losses.at(-1)?.full} (ESPM ${run.final_full_loss})`);
if (iters === 200) {
  const Wr = load(`${setting}/W_it0200.npy`);
  const Hr = load(`${setting}/H_it0200.npy`);
  let wr = 0;
  let ha = 0;
  for (let j = 0; j < Wr.data.length; j++) wr = Math.max(wr, Math.abs(res.W.data[j] - Wr.data[j]) / Math.abs(Wr.data[j]));
  for (let j = 0; j < Hr.data.length; j++) ha = Math.max(ha, Math.abs(res.H.data[j] - Hr.data[j]));
  console.log(`vs ESPM it 200: W max rel ${wr.toExponential(2)}, H max abs ${ha.toExponential(2)}`);
}
