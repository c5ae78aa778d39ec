/**
 * Evidence for `autoFit` on generator data with ground truth; prints one JSON summary.
 *   npx tsc -p tsconfig.json && node dist/bench/auto-evidence.js [quality|rescale|speed|start|binned-tol|extrapolation|k|toy|all] [--backend cpu|webgpu] [--quick] [--more|--extra|--large|--edx] [--binned-tol T (toy)] [--start-bin S (speed)] [--binned-max-iter N (speed)]
 * (toy with WebGPU on lavapipe: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json … toy --backend webgpu)
 *
 * - quality: auto's matched map MSE vs the best point of an oracle (λ, μ) grid at full resolution
 *   scored against the truth (target: within 15 %), and vs plain KL NMF (no G, no simplex).
 * - rescale: the same oracle grid tells where b² λ_binned lands among the full-resolution λ.
 * - speed: the weights (λ, μ) and the bin are chosen once by a tuning run (timed, reported apart:
 *   tuning is its own feature). At those weights: wall time of a from-scratch full-resolution fit
 *   (noStop, so a float-noise loss increase cannot end it early) until the relative loss change
 *   over 10 iterations is first < 1e-6, with ESPM's H step (SmoothNMF's default) and with the tight
 *   one, vs the multi-resolution path (bin + binned fit to its own convergence + upsample +
 *   fine-tune, autoFit's default tight step) until its loss first reaches each of those losses.
 *   Every time is a whole wall time: each fit is run a second time for exactly the iterations
 *   it needs (the loss is sampled every 10, so those are multiples of 10) and timed from the call
 *   to its return (before Update 7 the time inside a solve was prorated by iterations, which
 *   spread its upload over iterations not counted; kept as `proratedSeconds`). Also: the same
 *   with the tuning added. "Reached" compares the objective in float64 (Update 8): the scratch
 *   fit's iterate at its convergence point against the fine-tune's iterates at its sampled
 *   iterations, both evaluated on the CPU. The GPU's loss samples are float32 sums, whose
 *   resolution (~1e-7 relative) is the size of the last differences near convergence; the
 *   comparison of those samples (Updates 1–7) is kept as `…Float32`. With WebGPU each timed
 *   fit's loop (the engine's trace: iterations, samples, read-backs, no host set-up) is kept too,
 *   and `ceilingNoHostWorkVsEspmScratch` says what the path would reach if its host work were
 *   free (Update 11).
 * - start: the fine-tune's start maps compared at fixed weights and bin: iterations (tight step)
 *   until the loss of a from-scratch fit at its convergence point (1e-6 rule) is reached, from
 *   the upsampled binned maps, the per-pixel least-squares maps for the binned spectra, and their
 *   mean (autoFit's `fineStart: 'blend'`); scratch fits with ESPM's step and with the tight one.
 * - k: data made with k = 2..6, components 2..6 given; confusion of the selected k.
 *   Each timed piece (the scratch fit, the stages before the fine-tune, the fine-tune) is the
 *   median of --reps runs (default 3; Update 10).
 * - toy: the whole auto run on ESPM's toy problem; matched MSE vs H.npy (ESPM notebook after 1000
 *   iterations: [0.039, 0.032, 0.042]).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { autoFit, binCube, blendedStart, leastSquaresMaps, type AutoFitResult } from '../src/auto/index.js';
import { toFloat64 } from '../src/cpu/solve.js';
import { computeD, klConstant, lossParts } from '../src/cpu/steps.js';
import { fitSmoothNMF, prepareProblem } from '../src/estimator.js';
import { parseNpy } from '../src/io/npy.js';
import { compareToTruth } from '../src/metrics.js';
import { makeSyntheticDataset, type SyntheticDataset } from '../src/synth.js';
import { createWebGPUBackend } from '../src/gpu/index.js';
import { spread } from './suite.js';
import type { Backend, BackendName, LossSample, Matrix64 } from '../src/types.js';

const argv = process.argv.slice(2);
const what = argv.find((a) => !a.startsWith('--')) ?? 'all';
const backend = (argv.includes('--backend') ? argv[argv.indexOf('--backend') + 1] : 'cpu') as BackendName;
const quick = argv.includes('--quick');
const weightRule = (argv.includes('--weight-rule') ? argv[argv.indexOf('--weight-rule') + 1] : 'one-se') as 'best' | 'one-se';
const summary: Record<string, unknown> = { backend, quick, weightRule };

const mseOf = (ds: { trueD: Matrix64; trueH: Matrix64 }, r: { D: Matrix64; H: Matrix64 }) =>
  compareToTruth({ trueD: ds.trueD, D: r.D, trueH: ds.trueH, H: r.H });

// --more: six further data sets (other shapes, count levels and seeds) to check a rule chosen on the first four.
const more = argv.includes('--more');
summary['more'] = more;
// --extra: eight more (new seeds, 25–1000 counts, one with k = 4), used to choose λ's bin exponent (2.5) among b², √2·b² and b^2.5.
const extra = argv.includes('--extra');
summary['extra'] = extra;
// --large: images of the size users bin (128–256 px a side), where a from-scratch fit is slow.
const large = argv.includes('--large');
summary['large'] = large;
// --edx: spectrum images with EDX's channel counts (512–1024, mostly zero counts: the sparse layout),
// where one full-resolution iteration costs the most and a scratch fit the longest.
const edx = argv.includes('--edx');
summary['edx'] = edx;
/** The positive integer after `flag`, or undefined where the flag is absent. */
function positiveIntArg(flag: string): number | undefined {
  if (!argv.includes(flag)) return undefined;
  const text = argv[argv.indexOf(flag) + 1];
  const v = Number(text);
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${flag} must be a positive integer, got ${text}`);
  return v;
}
// --start-bin S (speed): AutoFitOptions.startBin for every autoFit of the study (default: the backend's, defaultStartBin)
const startBinArg = positiveIntArg('--start-bin');
summary['startBin'] = startBinArg ?? 'default';
// --binned-max-iter N (speed): AutoFitOptions.binnedMaxIter of the multi-resolution path's binned fit (default: autoFit's, its stopping rule)
const binnedMaxIterArg = positiveIntArg('--binned-max-iter');
summary['binnedMaxIter'] = binnedMaxIterArg ?? 'default';
// --reps R (speed): each timed piece is the median of R timed runs (default 3). One run each
// (Updates 7–9) let a single hiccup of this shared machine halve a ratio whose multi-resolution
// side lasts tens of milliseconds.
const reps = positiveIntArg('--reps') ?? 3;
summary['reps'] = reps;
/** The median of `reps` runs of `run` (each returns seconds), with every run's value. */
async function timedMedian(run: () => Promise<number>): Promise<{ seconds: number; runs: number[] }> {
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) runs.push(await run());
  return { seconds: spread(runs).median, runs };
}
type Config = { rows: number; cols: number; counts: number; seed: number; k?: number; channels?: number; scratchMaxIter?: number; fineMaxIter?: number };
const configs: Config[] = edx
  ? [
      { rows: 128, cols: 128, counts: 200, seed: 31, channels: 1024, scratchMaxIter: 800, fineMaxIter: 300 },
      { rows: 160, cols: 160, counts: 100, seed: 32, channels: 512, scratchMaxIter: 800, fineMaxIter: 300 },
      { rows: 128, cols: 160, counts: 300, seed: 33, channels: 1024, scratchMaxIter: 800, fineMaxIter: 300 },
    ]
  : large
  ? [
      { rows: 256, cols: 256, counts: 100, seed: 21, scratchMaxIter: 1000, fineMaxIter: 400 },
      { rows: 256, cols: 192, counts: 20, seed: 22, scratchMaxIter: 1000, fineMaxIter: 400 },
      { rows: 192, cols: 192, counts: 500, seed: 23, scratchMaxIter: 1000, fineMaxIter: 400 },
      { rows: 160, cols: 224, counts: 50, seed: 24, scratchMaxIter: 1000, fineMaxIter: 400 },
    ]
  : extra
  ? [
      { rows: 64, cols: 64, counts: 40, seed: 11 },
      { rows: 72, cols: 48, counts: 150, seed: 12 },
      { rows: 48, cols: 48, counts: 400, seed: 13 },
      { rows: 96, cols: 96, counts: 25, seed: 14 },
      { rows: 40, cols: 40, counts: 1000, seed: 15 },
      { rows: 60, cols: 60, counts: 70, seed: 16 },
      { rows: 64, cols: 64, counts: 100, seed: 17, k: 4 },
      { rows: 80, cols: 64, counts: 250, seed: 18 },
    ]
  : more
  ? [
      { rows: 48, cols: 48, counts: 50, seed: 5 },
      { rows: 64, cols: 64, counts: 20, seed: 6 },
      { rows: 48, cols: 64, counts: 200, seed: 7 },
      { rows: 64, cols: 48, counts: 300, seed: 8 },
      { rows: 56, cols: 56, counts: 100, seed: 9 },
      { rows: 40, cols: 60, counts: 30, seed: 10 },
    ]
  : quick
  ? [{ rows: 48, cols: 48, counts: 100, seed: 1 }]
  : [
      { rows: 48, cols: 48, counts: 20, seed: 1 },
      { rows: 48, cols: 48, counts: 100, seed: 2 },
      { rows: 64, cols: 48, counts: 500, seed: 3 },
      { rows: 64, cols: 64, counts: 100, seed: 4 },
    ];
const make = (c: { rows: number; cols: number; counts: number; seed: number; channels?: number }, k = 3): SyntheticDataset =>
  makeSyntheticDataset({ rows: c.rows, cols: c.cols, channels: c.channels ?? 80, countsPerPixel: c.counts, seed: c.seed, gPeaks: 10, k });

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
    const k = c.k ?? 3;
    const ds = make(c, k);
    const auto = await autoFit(ds.X, { components: k, G: ds.G, shape: ds.shape, backend, weightRule });
    const autoMse = mseOf(ds, auto).meanMse;
    const grid: { lambda: number; mu: number; mse: number }[] = [];
    for (const lambda of [0, 1, 4, 16]) {
      for (const mu of [0, 0.1, 1]) {
        // The oracle fits with the tight step: the same optimum as ESPM's, reached within the budget.
        const r = await fitSmoothNMF(ds.X, { components: k, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true, maxIter: 2000, tol: 1e-7, majorizer: 'tight', backend });
        grid.push({ lambda, mu, mse: mseOf(ds, r).meanMse });
      }
    }
    const plain = await fitSmoothNMF(ds.X, { components: k, normalize: true, maxIter: 2000, tol: 1e-7, backend });
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
  // A larger image too: on 48 × 48 × 80 a lavapipe iteration is mostly fixed dispatch cost, so
  // binning hardly makes an iteration cheaper there.
  const speedConfigs: Config[] = quick || large || edx ? configs : [...configs, { rows: 128, cols: 128, counts: 100, seed: 5 }];
  // One backend for every run (as in the browser app or a batch script): its device and compiled
  // pipelines are shared, and an untimed one-iteration run of each fit below compiles what that
  // fit needs first. Before this (Updates 1–4), each fit made its own device: the binned stage
  // paid its pipeline compiles in full (0.1–0.3 s on lavapipe) while a scratch fit's were
  // prorated over its 1000 iterations.
  // The engine's phase trace: the last 'loop' phase of a fit is its iterations with their loss
  // samples and read-backs, without its host set-up (prepare, init, X's packing and upload).
  let loops: number[] = [];
  const be: Backend | 'cpu' = backend === 'webgpu' ? await createWebGPUBackend({ trace: (phase, ms) => phase.startsWith('loop') && loops.push(ms / 1000) }) : 'cpu';
  /** run() timed by timedMedian, and the median over its runs of the last fit's loop seconds (NaN on the CPU). */
  const timedWithLoop = async (run: () => Promise<number>) => {
    const loopRuns: number[] = [];
    const timed = await timedMedian(async () => {
      loops = [];
      const sec = await run();
      loopRuns.push(loops.length ? loops[loops.length - 1] : Number.NaN);
      return sec;
    });
    return { ...timed, loopSeconds: spread(loopRuns).median, loopRuns };
  };
  for (const c of speedConfigs) {
    const ds = make(c);
    // Tuning (a separate feature) is timed by its own run; the multi-resolution path below then
    // runs at the chosen weights with a one-point grid, so its stages are bin, binned fit,
    // upsample and fine-tune only.
    const tuned: AutoFitResult = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend: be, skipFineTune: true, startBin: startBinArg });
    const lambda = tuned.lambda;
    const mu = tuned.mu;
    // The objective in float64 on the CPU (the fits' normalised X, λ, μ): the GPU samples it in
    // float32, whose relative resolution (~1e-7 here) decided "reached" near convergence.
    const prepared = prepareProblem(ds.X, { components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true }).problem;
    const Xp = toFloat64(prepared.X);
    const Gp = prepared.G ? toFloat64(prepared.G) : undefined;
    const klc = klConstant(Xp);
    /** The float64 objective of a normalised iterate (raw W, as in snapshots). */
    const loss64 = (W: Matrix64, H: Matrix64) => lossParts(Xp, computeD(W, Gp), H, prepared, klc).full;
    const rawW = (r: { W: Matrix64; normFactor: number }): Matrix64 => ({ rows: r.W.rows, cols: r.W.cols, data: r.W.data.map((v) => v * r.normFactor) });
    /** A from-scratch full-resolution fit (noStop), timed to its convergence point. */
    const scratch = async (majorizer: 'espm' | 'tight') => {
      const t0 = performance.now();
      const r = await fitSmoothNMF(ds.X, {
        components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true, maxIter: c.scratchMaxIter ?? 3000, noStop: true, majorizer, backend: be,
      });
      const wall = (performance.now() - t0) / 1000;
      const conv = convergedAt(r.losses);
      const target = conv ?? r.losses[r.losses.length - 1];
      const perIter = r.solveSeconds / Math.max(1, r.nIter);
      const prorated = perIter * target.iteration + (wall - r.solveSeconds);
      // Timed: the same fit again, run for exactly those iterations; its whole wall time (set-up,
      // upload, iterations, read-backs) is what a user waits for.
      const timedOpts = {
        components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h' as const, normalize: true, maxIter: target.iteration, noStop: true, majorizer, backend: be,
      };
      let at: Awaited<ReturnType<typeof fitSmoothNMF>> | undefined;
      const timed = await timedWithLoop(async () => {
        const t1 = performance.now();
        const r = await fitSmoothNMF(ds.X, timedOpts);
        const sec = (performance.now() - t1) / 1000;
        at ??= r;
        return sec;
      });
      if (!at) throw new Error('speed: no timed scratch run');
      const seconds = timed.seconds;
      // the timed run ends on the convergence point's iterate: its objective in float64
      const l64 = loss64(rawW(at), at.H);
      if (!(Math.abs(l64 - target.full) <= 1e-4 * Math.abs(l64))) throw new Error(`speed: the float64 objective ${l64} does not match the GPU's ${target.full}`);
      return { majorizer, iterationsToConverge: target.iteration, converged: !!conv, seconds, secondsRuns: timed.runs, loopSeconds: timed.loopSeconds, proratedSeconds: prorated, secondsPerIteration: perIter, loss: target.full, loss64: l64 };
    };
    // The multi-resolution path: bin + binned fit + upsample (autoFit, one-point grid, no
    // fine-tune), then the fine-tune as its own noStop fit from that start (autoFit's fine-tune
    // is this fit with a stopping rule, which float32 loss noise can end a little early).
    const preOpts = {
      components: 3, G: ds.G, shape: ds.shape, backend: be, lambdas: [tuned.lambdaBinned], mus: [mu], refine: false, warmIter: 0, tuneMaxIter: 1,
      bin: tuned.bin.b, skipFineTune: true, startBin: startBinArg, binnedMaxIter: binnedMaxIterArg,
    };
    // warm-up (untimed): one iteration of each fit compiles its pipelines
    await fitSmoothNMF(ds.X, { components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true, maxIter: 1, majorizer: 'espm', backend: be });
    const warm = await autoFit(ds.X, { ...preOpts, binnedMaxIter: 1 });
    await fitSmoothNMF(ds.X, {
      components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h', normalize: true, maxIter: 1, majorizer: warm.majorizer, extrapolation: warm.extrapolation, backend: be,
      ...(warm.startBin > 1 ? { init: 'custom' as const, W0: rawW(warm), H0: warm.H } : {}),
    });
    const espm = await scratch('espm');
    const tight = await scratch('tight');
    // Everything autoFit did but the tuning and the fine-tune's preparation (skipFineTune): the copy
    // of X, binning, the binned fit with its init and upload, the upsampling and the start maps.
    // The runs are deterministic: the first one's start is the fine-tune's.
    const beforeOf = (r: AutoFitResult) => (r.startBin > 1 ? r.stages.total.seconds - r.stages.tune.seconds - r.stages.fineTune.seconds : 0);
    const pres: AutoFitResult[] = [];
    const beforeTimed = await timedWithLoop(async () => {
      const r = await autoFit(ds.X, preOpts);
      pres.push(r);
      return beforeOf(r);
    });
    const pre = pres[0];
    const binned = pre.startBin > 1; // the tuning's bin, or the coarse start where it chose b = 1
    const fineOpts = (maxIter: number) => ({
      components: 3, G: ds.G, shape: ds.shape, lambda, mu, simplex: 'h' as const, normalize: true, maxIter, noStop: true, majorizer: pre.majorizer, extrapolation: pre.extrapolation, backend: be,
      ...(binned ? { init: 'custom' as const, W0: rawW(pre), H0: pre.H } : {}),
    });
    const t1 = performance.now();
    const fineMax = c.fineMaxIter ?? 1500;
    const fine = await fitSmoothNMF(ds.X, fineOpts(fineMax));
    const fineWall = (performance.now() - t1) / 1000;
    // The same fine-tune again (untimed) keeping the iterate at every sampled iteration (those
    // stay plain updates, so the path is the same): their objectives in float64.
    const sampledIts = fine.losses.map((l) => l.iteration).filter((it) => it > 0);
    const kept = await fitSmoothNMF(ds.X, { ...fineOpts(fineMax), snapshots: sampledIts });
    const fine64 = sampledIts.map((it) => ({ iteration: it, full: loss64(kept.snapshots.get(it)!.W, kept.snapshots.get(it)!.H) }));
    const finePerIter = fine.solveSeconds / Math.max(1, fine.nIter);
    const s = pre.stages;
    const before = beforeTimed.seconds;
    const beforeStages = binned ? s.bin.seconds + s.binnedFit.seconds + s.upsample.seconds : 0;
    /**
     * Multi-res wall time until the fine-tune's loss first reaches `loss`: `before` plus the
     * fine-tune run again for exactly those iterations, timed whole. `proratedSeconds`: the older
     * accounting (Updates 1–6: the three stages, the fine-tune's set-up outside its solve, and its
     * solve prorated by iterations, which spread the upload over all of them).
     */
    const toReach = async (loss: number, path: { iteration: number; full: number }[] = fine.losses, exact = false) => {
      const at = path.findIndex((l) => l.full <= loss);
      if (at < 0) return { fineTuneIterations: null, seconds: Number.NaN, fineTuneLoopSeconds: Number.NaN, proratedSeconds: Number.NaN };
      const sampled = path[at].iteration;
      // exact (float64 criterion): the fewest iterations whose fit ends at or below `loss`. A fit
      // of `it` iterations ends on a plain update (its last iteration is sampled), the iterate the
      // longer fit computes at `it` before extrapolating; those between two samples are tried in order.
      let iterations = sampled;
      if (exact) {
        for (let it = at > 0 ? path[at - 1].iteration + 1 : 1; it < sampled; it++) {
          const r = await fitSmoothNMF(ds.X, fineOpts(it));
          if (loss64(rawW(r), r.H) <= loss) {
            iterations = it;
            break;
          }
        }
      }
      let fineSeconds = 0;
      let fineRuns: number[] = [];
      let fineLoop = 0;
      if (iterations > 0) {
        const timed = await timedWithLoop(async () => {
          const t2 = performance.now();
          await fitSmoothNMF(ds.X, fineOpts(iterations));
          return (performance.now() - t2) / 1000;
        });
        fineSeconds = timed.seconds;
        fineRuns = timed.runs;
        fineLoop = timed.loopSeconds;
      }
      return {
        fineTuneIterations: iterations,
        ...(exact ? { fineTuneIterationsSampled: sampled } : {}),
        seconds: before + fineSeconds,
        fineTuneSeconds: fineSeconds,
        fineTuneSecondsRuns: fineRuns,
        fineTuneLoopSeconds: fineLoop,
        proratedSeconds: beforeStages + (fineWall - fine.solveSeconds) + finePerIter * iterations,
      };
    };
    // the binned fit's iterations (the last loop of autoFit's run; none where it kept b = 1 with no coarse start)
    const binnedLoop = binned ? beforeTimed.loopSeconds : 0;
    const toEspm = await toReach(espm.loss64, fine64, true);
    const toTight = await toReach(tight.loss64, fine64, true);
    const toEspm32 = await toReach(espm.loss);
    const toTight32 = await toReach(tight.loss);
    rows.push({
      config: c,
      bin: tuned.bin.b,
      weights: { lambdaBinned: tuned.lambdaBinned, lambda, mu },
      scratchEspm: espm,
      scratchTight: tight,
      multires: {
        majorizer: pre.majorizer,
        extrapolation: pre.extrapolation,
        startBin: pre.startBin,
        binnedIterations: pre.stages.binnedFit.iterations,
        // medians over the same runs as beforeFineTuneSeconds (the first run's alone until Update 11)
        binnedSeconds: spread(pres.map((r) => r.stages.binnedFit.seconds)).median,
        beforeFineTuneSeconds: before,
        beforeFineTuneSecondsRuns: beforeTimed.runs,
        upsampleSeconds: spread(pres.map((r) => r.stages.upsample.seconds)).median,
        fineTuneSetupSeconds: fineWall - fine.solveSeconds,
        fineTuneSecondsPerIteration: finePerIter,
        startGapToEspmLoss: (fine.losses[0].full - espm.loss) / Math.abs(espm.loss),
        // where it ends (fineMaxIter): above the target only by float32 loss resolution (~1e-7) or not
        finalGapToEspmLoss: (fine.losses[fine.losses.length - 1].full - espm.loss) / Math.abs(espm.loss),
        finalGapToTightLoss: (fine.losses[fine.losses.length - 1].full - tight.loss) / Math.abs(tight.loss),
        toEspmLoss: toEspm,
        toTightLoss: toTight,
        // the same on the GPU's float32 loss samples (the accounting of Updates 1–7)
        toEspmLossFloat32: toEspm32,
        toTightLossFloat32: toTight32,
        finalGap64ToEspmLoss: (fine64[fine64.length - 1].full - espm.loss64) / Math.abs(espm.loss64),
      },
      tuningSeconds: tuned.stages.tune.seconds,
      speedupVsEspmScratch: espm.seconds / toEspm.seconds,
      speedupVsTightScratch: tight.seconds / toTight.seconds,
      speedupVsEspmScratchFloat32: espm.seconds / toEspm32.seconds,
      speedupVsTightScratchFloat32: tight.seconds / toTight32.seconds,
      speedupVsEspmScratchProrated: espm.proratedSeconds / toEspm32.proratedSeconds,
      speedupVsEspmScratchIncludingTuning: espm.seconds / (toEspm.seconds + tuned.stages.tune.seconds),
      // Update 11: what the multi-resolution path could reach if all its host work (binning, the
      // binned cube's and the full cube's preparation, nndsvda, packing, uploads, upsampling)
      // cost nothing: its two loops (binned fit, fine-tune; iterations, loss samples, read-backs)
      // against the scratch fit whole (its host work kept: the most generous ceiling) and
      // against the scratch fit's own loop (both sides without host work).
      binnedLoopSeconds: binnedLoop,
      ceilingNoHostWorkVsEspmScratch: espm.seconds / (binnedLoop + toEspm.fineTuneLoopSeconds),
      ceilingLoopsOnlyVsEspmScratch: espm.loopSeconds / (binnedLoop + toEspm.fineTuneLoopSeconds),
    });
    process.stderr.write(`speed ${JSON.stringify(c)}: ${JSON.stringify(rows[rows.length - 1])}\n`);
  }
  if (typeof be === 'object') be.dispose();
  summary['speed'] = rows;
  summary['speedPipelines'] = 'warm: one backend for every run, each fit compiled by an untimed one-iteration run first';
  summary['speedAccounting'] =
    'timed: each fit re-run for exactly the iterations it needs and timed whole, the median of reps runs (Update 10; one run before) (prorated: the older accounting); reached: the float64 objective of the fine-tune iterate at or below that of the scratch fit at its convergence point, at the fewest iterations (a fit of that many, whose last iterate is a plain update; fineTuneIterationsSampled: the first sampled iteration, Update 8) (Float32: the GPU loss samples compared at sampled iterations, Updates 1-7)';
}

/** Block means of k × p maps over b × b blocks (cropped like binCube): the truth at the binned level. */
function binMaps(H: Matrix64, shape: { rows: number; cols: number }, b: number): Matrix64 {
  const R = Math.floor(shape.rows / b);
  const C = Math.floor(shape.cols / b);
  const p = shape.rows * shape.cols;
  const out = new Float64Array(H.rows * R * C);
  for (let q = 0; q < H.rows; q++) {
    for (let r = 0; r < R * b; r++) {
      for (let c = 0; c < C * b; c++) out[q * R * C + Math.floor(r / b) * C + Math.floor(c / b)] += H.data[q * p + r * shape.cols + c] / (b * b);
    }
  }
  return { rows: H.rows, cols: R * C, data: out };
}

/**
 * The binned → full rule, tested against the truth at both levels: for each data set and bin b,
 * the λ minimising the matched map MSE of a binned fit (against the block-mean true maps) and
 * the λ minimising it at full resolution (fixed μ, fine log grid). The rule predicts
 * λ*_full / λ*_binned = b². Likewise for μ at fixed λ (the rule: μ unchanged).
 */
async function startStudy() {
  const rows = [];
  const studies: { rows: number; cols: number; counts: number; seed: number; lambdaBinned: number; mu: number; b: number }[] = [
    { rows: 96, cols: 96, counts: 50, seed: 24, lambdaBinned: 0.5623, mu: 0.3162, b: 2 },
    { rows: 96, cols: 96, counts: 50, seed: 24, lambdaBinned: 0, mu: 0, b: 2 },
    { rows: 96, cols: 96, counts: 20, seed: 22, lambdaBinned: 0.3162, mu: 0.0316, b: 3 },
    { rows: 96, cols: 96, counts: 100, seed: 21, lambdaBinned: 0.5623, mu: 0.3162, b: 2 },
    { rows: 96, cols: 96, counts: 500, seed: 23, lambdaBinned: 1, mu: 0.3162, b: 2 },
    { rows: 120, cols: 120, counts: 20, seed: 7, lambdaBinned: 1, mu: 1, b: 4 },
  ];
  for (const c of quick ? studies.slice(0, 1) : studies) {
    const ds = make(c);
    const lambda = c.lambdaBinned * c.b ** 2.5;
    const row: Record<string, unknown> = { config: c, lambda };
    const base = { components: 3, G: ds.G, shape: ds.shape, lambda, mu: c.mu, simplex: 'h' as const, normalize: true, noStop: true, backend };
    // The starts and their fine-tunes (tight step) do not depend on the scratch fit's step: run once, read against both targets.
    const pre = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend, lambdas: [c.lambdaBinned], mus: [c.mu], refine: false, warmIter: 0, tuneMaxIter: 1, bin: c.b, skipFineTune: true, fineStart: 'upsampled' });
    const W0 = { rows: pre.W.rows, cols: pre.W.cols, data: pre.W.data.map((v) => v * pre.normFactor) };
    const ls = leastSquaresMaps(ds.X, computeD(W0, ds.G));
    const starts: Record<string, Matrix64> = { upsampled: pre.H, leastSquares: ls, blend: blendedStart(pre.H, ls, 1e-10) };
    const fines: Record<string, LossSample[]> = {};
    for (const [name, H0] of Object.entries(starts)) fines[name] = (await fitSmoothNMF(ds.X, { ...base, majorizer: 'tight', maxIter: 600, init: 'custom', W0, H0 })).losses;
    for (const majorizer of ['espm', 'tight'] as const) {
      const scratch = await fitSmoothNMF(ds.X, { ...base, majorizer, maxIter: 1500 });
      const target = convergedAt(scratch.losses) ?? scratch.losses[scratch.losses.length - 1];
      const reach = Object.fromEntries(Object.entries(fines).map(([name, losses]) => [name, losses.find((l) => l.full <= target.full)?.iteration ?? null]));
      row[majorizer] = { scratchConvergedAt: target.iteration, fineTuneIterationsToThatLoss: reach };
    }
    rows.push(row);
    process.stderr.write(`start ${JSON.stringify(row)}\n`);
  }
  summary['start'] = rows;
}

/**
 * How tightly the binned fit must converge: for binnedTol 1e-6 … 1e-4, the binned fit's
 * iterations and the fine-tune's (tight step, blended start) until the loss at which a
 * from-scratch fit with ESPM's step converges (1e-6 rule). Weights and bin as autoFit chose them
 * in `speed --large` (and 48 × 48 / 20 counts from `speed`).
 */
async function binnedTolStudy() {
  const rows = [];
  const studies = [
    { rows: 256, cols: 256, counts: 100, seed: 21, lambdaBinned: 0.5623, mu: 0.3162, b: 2 },
    { rows: 160, cols: 224, counts: 50, seed: 24, lambdaBinned: 0.5623, mu: 0.3162, b: 2 },
    { rows: 256, cols: 192, counts: 20, seed: 22, lambdaBinned: 0.3162, mu: 0.0316, b: 3 },
    { rows: 48, cols: 48, counts: 20, seed: 1, lambdaBinned: 0.3162, mu: 1, b: 3 },
  ];
  for (const c of quick ? studies.slice(3) : studies) {
    const ds = make(c);
    const lambda = c.lambdaBinned * c.b ** 2.5;
    const base = { components: 3, G: ds.G, shape: ds.shape, lambda, mu: c.mu, simplex: 'h' as const, normalize: true, noStop: true, backend };
    const scratch = await fitSmoothNMF(ds.X, { ...base, majorizer: 'espm', maxIter: 1500 });
    const target = convergedAt(scratch.losses) ?? scratch.losses[scratch.losses.length - 1];
    const row: Record<string, unknown> = { config: c, lambda, scratchEspmConvergedAt: target.iteration };
    for (const binnedTol of [1e-6, 1e-5, 1e-4]) {
      const pre = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend, lambdas: [c.lambdaBinned], mus: [c.mu], refine: false, warmIter: 0, tuneMaxIter: 1, bin: c.b, skipFineTune: true, binnedTol });
      const W0 = { rows: pre.W.rows, cols: pre.W.cols, data: pre.W.data.map((v) => v * pre.normFactor) };
      const fine = await fitSmoothNMF(ds.X, { ...base, majorizer: 'tight', maxIter: 300, init: 'custom', W0, H0: pre.H });
      row[`tol ${binnedTol}`] = { binnedIterations: pre.stages.binnedFit.iterations, binnedSeconds: pre.stages.binnedFit.seconds, fineTuneIterationsToScratchLoss: fine.losses.find((l) => l.full <= target.full)?.iteration ?? null };
    }
    rows.push(row);
    process.stderr.write(`binned-tol ${JSON.stringify(row)}\n`);
  }
  summary['binnedTol'] = rows;
}

/**
 * Extrapolation β of the fine-tune (SmoothNMFOptions.extrapolation): from the same start (binned
 * fit without extrapolation, blended start), the iterations until the loss first reaches the
 * converged loss of an ESPM-step scratch fit, for β = 0 … 0.9; the binned fit's own iterations
 * with and without extrapolation. Loss sampled every 10 iterations (the extrapolation pauses at
 * each sample), so counts are multiples of 10. Run with --backend cpu for the float64 reference.
 */
async function extrapolationStudy() {
  const rows = [];
  const studies = [
    { rows: 48, cols: 48, counts: 20, seed: 1, lambdaBinned: 0.3162, mu: 1, b: 3 },
    { rows: 48, cols: 48, counts: 100, seed: 2, lambdaBinned: 0.5623, mu: 1, b: 2 },
    { rows: 64, cols: 64, counts: 100, seed: 4, lambdaBinned: 0.3162, mu: 0.3162, b: 2 },
    { rows: 128, cols: 128, counts: 100, seed: 5, lambdaBinned: 0.3162, mu: 0.3162, b: 2 },
  ];
  for (const c of quick ? studies.slice(0, 1) : studies) {
    const ds = make(c);
    const lambda = c.lambdaBinned * c.b ** 2.5;
    const base = { components: 3, G: ds.G, shape: ds.shape, lambda, mu: c.mu, simplex: 'h' as const, normalize: true, noStop: true, backend };
    const scratch = await fitSmoothNMF(ds.X, { ...base, majorizer: 'espm', maxIter: 1000 });
    const target = convergedAt(scratch.losses) ?? scratch.losses[scratch.losses.length - 1];
    const row: Record<string, unknown> = { config: c, lambda, scratchEspmConvergedAt: target.iteration };
    const preOpts = { components: 3, G: ds.G, shape: ds.shape, backend, lambdas: [c.lambdaBinned], mus: [c.mu], refine: false, warmIter: 0, tuneMaxIter: 1, bin: c.b, skipFineTune: true };
    const pre = await autoFit(ds.X, { ...preOpts, extrapolation: 0 });
    const preExt = await autoFit(ds.X, { ...preOpts });
    row['binnedIterations'] = { plain: pre.stages.binnedFit.iterations, extrapolated: preExt.stages.binnedFit.iterations };
    const W0 = { rows: pre.W.rows, cols: pre.W.cols, data: pre.W.data.map((v) => v * pre.normFactor) };
    const fine: Record<string, number | null> = {};
    for (const beta of [0, 0.3, 0.5, 0.7, 0.9]) {
      const r = await fitSmoothNMF(ds.X, { ...base, majorizer: 'tight', extrapolation: beta, maxIter: 200, init: 'custom', W0, H0: pre.H });
      fine[`beta ${beta}`] = r.losses.find((l) => l.full <= target.full)?.iteration ?? null;
    }
    row['fineTuneIterationsToScratchLoss'] = fine;
    rows.push(row);
    process.stderr.write(`extrapolation ${JSON.stringify(row)}\n`);
  }
  summary['extrapolation'] = rows;
}

async function rescale() {
  const lamGrid = [0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];
  const muGrid = [0, 0.03, 0.1, 0.3, 1, 3];
  const rows = [];
  const sets = quick ? [{ rows: 48, cols: 48, counts: 50, seed: 11 }] : [
    { rows: 48, cols: 48, counts: 50, seed: 11 },
    { rows: 64, cols: 64, counts: 20, seed: 12 },
    { rows: 64, cols: 48, counts: 200, seed: 13 },
  ];
  for (const c of sets) {
    const ds = make(c);
    for (const b of quick ? [2] : [2, 3]) {
      const cube = binCube(ds.X, ds.shape, b, 1, ds.G);
      const trueHb = binMaps(ds.trueH, ds.shape, b);
      const fitAt = async (X: Matrix64, G: Matrix64 | undefined, shape: { rows: number; cols: number }, lambda: number, mu: number, trueH: Matrix64) => {
        const r = await fitSmoothNMF(X, { components: 3, G, shape, lambda, mu, simplex: 'h', normalize: true, maxIter: 2000, tol: 1e-7, backend });
        return compareToTruth({ trueD: ds.trueD, D: r.D, trueH, H: r.H }).meanMse;
      };
      const argmin = (xs: { v: number; mse: number }[]) => xs.reduce((a, x) => (x.mse < a.mse ? x : a));
      const mu0 = 0.1;
      const lb = [];
      const lf = [];
      for (const l of lamGrid) {
        lb.push({ v: l, mse: await fitAt(cube.X, cube.G, cube.shape, l, mu0, trueHb) });
        lf.push({ v: l * b * b, mse: await fitAt(ds.X, ds.G, ds.shape, l * b * b, mu0, ds.trueH) });
      }
      const bestB = argmin(lb);
      const bestF = argmin(lf);
      // The full grid holds b² × the binned grid, so the ratio is read on the same log grid.
      const lam0 = bestB.v;
      const mb = [];
      const mf = [];
      for (const m of muGrid) {
        mb.push({ v: m, mse: await fitAt(cube.X, cube.G, cube.shape, lam0, m, trueHb) });
        mf.push({ v: m, mse: await fitAt(ds.X, ds.G, ds.shape, lam0 * b * b, m, ds.trueH) });
      }
      rows.push({
        config: c,
        b,
        lambda: { bestBinned: bestB.v, bestFull: bestF.v, ratio: bestF.v / bestB.v, rulePredicts: b * b, binnedCurve: lb, fullCurve: lf },
        mu: { atLambdaBinned: lam0, bestBinned: argmin(mb).v, bestFull: argmin(mf).v, binnedCurve: mb, fullCurve: mf },
      });
      process.stderr.write(`rescale ${JSON.stringify(c)} b=${b}: λ* binned ${bestB.v}, full ${bestF.v} (ratio ${bestF.v / bestB.v}, rule ${b * b}); μ* binned ${argmin(mb).v}, full ${argmin(mf).v}\n`);
    }
  }
  summary['rescale'] = rows;
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
  // --binned-tol T: the toy with another binned stopping tolerance (its λ = μ = 0 is where 1e-4 costs fine-tune iterations)
  const binnedTol = argv.includes('--binned-tol') ? Number(argv[argv.indexOf('--binned-tol') + 1]) : undefined;
  const r = await autoFit(X, { components: 3, G: load('G.npy'), shape: { rows: 100, cols: 100 }, backend, weightRule, ...(binnedTol ? { binnedTol } : {}) });
  const wall = (performance.now() - t0) / 1000;
  const cmp = compareToTruth({ trueD: load('GW.npy'), D: r.D, trueH: load('H.npy'), H: r.H });
  summary['toy'] = {
    wallSeconds: wall,
    underAMinute: wall < 60,
    mse: cmp.mse,
    espmNotebook1000: [0.039, 0.032, 0.042],
    atLeastAsGood: cmp.meanMse <= (0.039 + 0.032 + 0.042) / 3,
    chosen: { bin: r.bin.b, lambda: r.lambda, mu: r.mu },
    binnedTol: binnedTol ?? 'default',
    stages: r.stages,
    backendInfo: r.backendInfo,
  };
}

if (what === 'quality' || what === 'all') await quality();
if (what === 'rescale' || what === 'all') await rescale();
if (what === 'speed' || what === 'all') await speed();
if (what === 'start' || what === 'all') await startStudy();
if (what === 'binned-tol' || what === 'all') await binnedTolStudy();
if (what === 'extrapolation' || what === 'all') await extrapolationStudy();
if (what === 'k' || what === 'all') await kSelection();
if (what === 'toy' || what === 'all') await toy();
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
