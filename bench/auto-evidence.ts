/**
 * Evidence for `autoFit` on generator data with ground truth; prints one JSON summary.
 *   npx tsc -p tsconfig.json && node dist/bench/auto-evidence.js [quality|speed|k|toy|all] [--backend cpu|webgpu] [--quick]
 * (toy with WebGPU on lavapipe: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json … toy --backend webgpu)
 *
 * - quality: auto's matched map MSE vs the best point of an oracle (λ, μ) grid at full resolution
 *   scored against the truth (target: within 15 %), and vs plain KL NMF (no G, no simplex).
 * - rescale: the same oracle grid tells where b² λ_binned lands among the full-resolution λ.
 * - speed: wall time of a from-scratch full-resolution fit (chosen λ, μ) until the relative loss
 *   change over 10 iterations is < 1e-6, vs the multi-resolution path (binned fit + upsample +
 *   fine-tune, and also including the tuning) until its loss first reaches that loss. Times inside
 *   a fit are prorated by iterations (the loss is sampled every 10).
 * - k: data made with k = 2..6, components 2..6 given; confusion of the selected k.
 * - toy: the whole auto run on ESPM's toy problem; matched MSE vs H.npy (ESPM notebook after 1000
 *   iterations: [0.039, 0.032, 0.042]).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { autoFit, type AutoFitResult } from '../src/auto/index.js';
import { fitSmoothNMF } from '../src/estimator.js';
import { parseNpy } from '../src/io/npy.js';
import { compareToTruth } from '../src/metrics.js';
import { makeSyntheticDataset, type SyntheticDataset } from '../src/synth.js';
import type { BackendName, LossSample, Matrix64 } from '../src/types.js';

const argv = process.argv.slice(2);
const what = argv.find((a) => !a.startsWith('--')) ?? 'all';
const backend = (argv.includes('--backend') ? argv[argv.indexOf('--backend') + 1] : 'cpu') as BackendName;
const quick = argv.includes('--quick');
const summary: Record<string, unknown> = { backend, quick };

const mseOf = (ds: { trueD: Matrix64; trueH: Matrix64 }, r: { D: Matrix64; H: Matrix64 }) =>
  compareToTruth({ trueD: ds.trueD, D: r.D, trueH: ds.trueH, H: r.H });

const configs = quick
  ? [{ rows: 48, cols: 48, counts: 100, seed: 1 }]
  : [
      { rows: 48, cols: 48, counts: 20, seed: 1 },
      { rows: 48, cols: 48, counts: 100, seed: 2 },
      { rows: 64, cols: 48, counts: 500, seed: 3 },
      { rows: 64, cols: 64, counts: 100, seed: 4 },
    ];
const make = (c: { rows: number; cols: number; counts: number; seed: number }, k = 3): SyntheticDataset =>
  makeSyntheticDataset({ rows: c.rows, cols: c.cols, channels: 80, countsPerPixel: c.counts, seed: c.seed, gPeaks: 10, k });

/** First sampled iteration where |ΔF| / |F| over the last 10 iterations < 1e-6. */
function convergedAt(losses: LossSample[]): LossSample | undefined {
  for (let i = 1; i < losses.length; i++) {
    const a = losses[i - 1];
    const b = losses[i];
    if (Math.abs(a.full - b.full) / Math.abs(b.full) / ((b.iteration - a.iteration) / 10) < 1e-6) return b;
  }
  return undefined;
}

async function quality() {
  const rows = [];
  for (const c of configs) {
    const ds = make(c);
    const auto = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend });
    const autoMse = mseOf(ds, auto).meanMse;
    const grid: { lambda: number; mu: number; mse: number }[] = [];
    for (const lambda of [0, 1, 4, 16]) {
      for (const mu of [0, 0.1, 1]) {
        const r = await fitSmoothNMF(ds.X, { components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true, maxIter: 2000, tol: 1e-7, backend });
        grid.push({ lambda, mu, mse: mseOf(ds, r).meanMse });
      }
    }
    const plain = await fitSmoothNMF(ds.X, { components: 3, normalize: true, maxIter: 2000, tol: 1e-7, backend });
    const best = grid.reduce((a, g) => (g.mse < a.mse ? g : a));
    rows.push({
      config: c,
      bin: auto.bin.b,
      chosen: { lambdaBinned: auto.lambdaBinned, lambda: auto.lambda, mu: auto.mu },
      autoMse,
      oracleBest: best,
      ratioToOracle: autoMse / best.mse,
      withinTarget: autoMse <= 1.15 * best.mse,
      plainKlMse: mseOf(ds, plain).meanMse,
      betterThanPlain: autoMse < mseOf(ds, plain).meanMse,
      oracleGrid: grid,
      stages: auto.stages,
    });
  }
  summary['quality'] = rows;
}

async function speed() {
  const rows = [];
  for (const c of configs) {
    const ds = make(c);
    const auto: AutoFitResult = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend, tol: 1e-8, maxIter: 5000 });
    const t0 = performance.now();
    const scratch = await fitSmoothNMF(ds.X, {
      components: 3, G: ds.G, shape: ds.shape, lambda: auto.lambda, mu: auto.mu, simplex: 'h', normalize: true, maxIter: 20000, tol: 0, noStop: false, backend,
    });
    const scratchWall = (performance.now() - t0) / 1000;
    const conv = convergedAt(scratch.losses);
    const target = conv ?? scratch.losses[scratch.losses.length - 1];
    const scratchSeconds = scratch.solveSeconds * (target.iteration / Math.max(1, scratch.nIter)) + (scratchWall - scratch.solveSeconds);
    const reach = auto.losses.find((l) => l.full <= target.full);
    const ft = auto.stages.fineTune;
    const fineToReach = reach ? ft.seconds * (reach.iteration / Math.max(1, ft.iterations ?? 1)) : Number.NaN;
    const multires = auto.stages.bin.seconds + auto.stages.binnedFit.seconds + auto.stages.upsample.seconds + fineToReach;
    rows.push({
      config: c,
      scratch: { iterationsToConverge: target.iteration, seconds: scratchSeconds, loss: target.full, stop: scratch.stopReason },
      multires: { reached: !!reach, fineTuneIterations: reach?.iteration ?? null, seconds: multires, withTuningSeconds: multires + auto.stages.tune.seconds },
      speedup: scratchSeconds / multires,
      speedupIncludingTuning: scratchSeconds / (multires + auto.stages.tune.seconds),
      finalLossMultires: auto.losses[auto.losses.length - 1]?.full,
    });
  }
  summary['speed'] = rows;
}

async function kSelection() {
  const confusion: Record<number, Record<number, number>> = {};
  const seeds = quick ? [1] : [1, 2, 3];
  for (let kTrue = 2; kTrue <= 6; kTrue++) {
    confusion[kTrue] = {};
    for (const seed of seeds) {
      const ds = make({ rows: 48, cols: 48, counts: 200, seed }, kTrue);
      const r = await autoFit(ds.X, { components: [2, 3, 4, 5, 6], G: ds.G, shape: ds.shape, backend, refine: false, skipFineTune: true });
      confusion[kTrue][r.k] = (confusion[kTrue][r.k] ?? 0) + 1;
    }
  }
  let right = 0;
  let total = 0;
  for (const [kt, row] of Object.entries(confusion)) for (const [kc, n] of Object.entries(row)) (total += n), kt === kc && (right += n);
  summary['k'] = { confusion, correct: right, total };
}

async function toy() {
  const candidates = ['../../shared/fixtures/espm-toy/', '../../../shared/fixtures/espm-toy/'];
  let base: URL | undefined;
  for (const c of candidates) {
    const u = new URL(c, import.meta.url);
    try {
      readFileSync(new URL('toy.json', u));
      base = u;
      break;
    } catch {
      /* next */
    }
  }
  if (!base) throw new Error('ESPM toy fixtures not found beside the repository (../shared/fixtures/espm-toy)');
  const load = (name: string): Matrix64 => {
    const a = parseNpy(new Uint8Array(readFileSync(fileURLToPath(new URL(name, base)))));
    return { rows: a.shape[0]!, cols: a.shape[1] ?? 1, data: a.data as Float64Array };
  };
  const X = load('X.npy');
  const t0 = performance.now();
  const r = await autoFit(X, { components: 3, G: load('G.npy'), shape: { rows: 100, cols: 100 }, backend });
  const wall = (performance.now() - t0) / 1000;
  const cmp = compareToTruth({ trueD: load('GW.npy'), D: r.D, trueH: load('H.npy'), H: r.H });
  summary['toy'] = {
    wallSeconds: wall,
    underAMinute: wall < 60,
    mse: cmp.mse,
    espmNotebook1000: [0.039, 0.032, 0.042],
    atLeastAsGood: cmp.meanMse <= (0.039 + 0.032 + 0.042) / 3,
    chosen: { bin: r.bin.b, lambda: r.lambda, mu: r.mu },
    stages: r.stages,
    backendInfo: r.backendInfo,
  };
}

if (what === 'quality' || what === 'all') await quality();
if (what === 'speed' || what === 'all') await speed();
if (what === 'k' || what === 'all') await kSelection();
if (what === 'toy' || what === 'all') await toy();
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
