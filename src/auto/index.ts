/**
 * `autoFit`: regularised Poisson NMF with the weights chosen from the data, at a fraction of the
 * cost of a full-resolution fit (the multi-resolution route of the acceleration project):
 *
 *  1. Bin: sum b × b pixel blocks (and optionally g channels); b from the data (src/auto/bin.ts).
 *  2. Tune λ, μ (and k) on the binned cube by Poisson count splitting: A ~ Binomial(X_b, ½),
 *     B = X_b − A; each candidate is fitted on one half and scored by the generalised KL deviance
 *     of the other half against the fit rescaled to that half's expected counts; both directions
 *     (A→B, B→A) of each split are folds. All candidates of one fold are ONE `solveBatch` call
 *     (they share X): a log-spaced grid, then a second batch refining around the best point.
 *  3. Fit the whole binned cube with the chosen weights, rescale W to the full-resolution counts,
 *     and start the maps from the mean of the binned maps upsampled bilinearly and the per-pixel
 *     least-squares maps for those spectra (`blendedStart`; both on the simplex). Where the
 *     tuning kept b = 1, one iteration of a 2 × 2-binned cube gives that start (`startBin`).
 *  4. Fine-tune at full resolution until the sampled loss stops improving.
 *
 * Scaling rules (every fit uses ESPM's `normalize`: Xn = s X with s = k / mean pixel sum, so the
 * data term per pixel is scale-free, ≈ k whatever the counts):
 * - Train half → whole binned cube: the halves are scaled by the factor s_b of the WHOLE binned
 *   cube (not their own). The unnormalised objective is KL + (λ/s) R: λ/s plays the role of a
 *   prior precision, which does not depend on the count level (Tikhonov/Wiener: the optimal
 *   weight against a log-likelihood is 1/τ² whatever the noise). Scaling the halves by s_b keeps
 *   λ/s_b, so the chosen λ and μ apply unchanged to the whole binned cube.
 * - Binned → full resolution:  λ_full = b^2.5 · λ_binned,   μ_full = μ_binned.
 *   Two effects set the exponent. Geometry: for maps smooth on the scale of a block the Laplacian
 *   energy Σ_edges (h_p − h_q)² is a Riemann sum of ∫|∇h|², independent of the pixel size in 2-D,
 *   while the normalised data term and the log penalty are sums over pixels (b² more of them at
 *   full resolution): the same continuous problem needs b². Count level: the map-optimal
 *   normalised λ falls with the counts per pixel c (fine oracle grids on 10 generator sets,
 *   20–500 counts: λ* ≈ 28/√c), and a binned pixel holds b² c counts, so the truth-optimal ratio
 *   is nearer b³ (bench rescale study: 8–36 for b = 2, 3). The held-out deviance, which chooses
 *   λ_binned, sits above the binned truth optimum and takes back part of that; measured end to
 *   end (map MSE against the oracle on 18 data sets, b = 1–3), the exponent 2.5 put 15 of 18
 *   within 15 % of the oracle grid's best, against 12 with b² and the same λ grid (bench
 *   auto-evidence quality; results in bench/results/).
 *   Channel binning changes neither (the counts per pixel and the per-pixel normalisation stay).
 */
import { cpuBackend, toFloat64 } from '../cpu/solve.js';
import { leastSquaresMaps } from '../cpu/init.js';
import { scaled } from '../cpu/linalg.js';
import { computeD } from '../cpu/steps.js';
import { WebnmfError, inputError, usageError } from '../errors.js';
import { normalizationFactor, prepareProblem } from '../estimator.js';
import {
  EPSILON,
  type Backend,
  type BackendName,
  type ImageShape,
  type LossSample,
  type Majorizer,
  type Matrix,
  type Matrix64,
  type Problem,
  type StopReason,
} from '../types.js';
import { binCube, blendedStart, chooseBin, upsampleMaps, type BinChoice, type BinnedCube } from './bin.js';
import { deviancePerPixel, heldOutCounts, thinCounts, type HeldOutCounts } from './split.js';

export { binCube, blendedStart, chooseBin, upsampleMaps, binningRisk } from './bin.js';
export { leastSquaresMaps } from '../cpu/init.js';
export type { BinChoice, BinnedCube } from './bin.js';
export { thinCounts, deviancePerPixel, heldOutCounts, type HeldOutCounts } from './split.js';

/** The exponent of the bin factor in λ_full = b^e λ_binned (see the file comment). */
export const LAMBDA_BIN_EXPONENT = 2.5;

/** The rule from binned to full resolution (see the file comment). */
export function rescaleWeights(lambdaBinned: number, muBinned: number, b: number): { lambda: number; mu: number } {
  return { lambda: b ** LAMBDA_BIN_EXPONENT * lambdaBinned, mu: muBinned };
}

/**
 * λ grid at the binned level: half decades. The refinement adds the log-midpoints around the best
 * (quarter decades, 1.78× apart): the map MSE moves 5–25 % per factor √2 of λ near its optimum,
 * and with whole decades (refined to 3.16× steps) the choice was too coarse (quality bench:
 * 7 of 10 within 15 % against 8 of 10 with half decades, both with the b² rule).
 */
export const DEFAULT_LAMBDAS: readonly number[] = [0, 0.1, Math.sqrt(0.1), 1, Math.sqrt(10), 10];
export const DEFAULT_MUS: readonly number[] = [0, 0.1, 1];
/** Tuning budget (iterations per candidate, warm-start iterations per fold): one k, several k. */
export const DEFAULT_TUNE_ITER = { oneK: 100, severalK: 300 } as const;
/**
 * The H step of the tuning candidates: ESPM's, whatever `majorizer` says. The budgets above and
 * the choice rules were calibrated with it (bench/auto-evidence.ts k: 15 of 15). With the tight
 * step the fixed budget brings the candidates much nearer convergence, and then a larger k won
 * on held-out deviance for data made with k = 2 in 2 of 3 seeds (k: 12 of 15): the fixed-budget
 * comparison of k relies on that calibration, so tuning keeps it.
 */
export const TUNE_MAJORIZER: Majorizer = 'espm';
/** autoFit's extrapolation β in the binned fit and the fine-tune (with the tight step). */
export const DEFAULT_EXTRAPOLATION = 0.7;
/** The binned fit's loss sampling interval (AutoFitOptions.binnedLossEvery). */
export const DEFAULT_BINNED_LOSS_EVERY = 5;
/**
 * The binned fit's stopping tolerance (AutoFitOptions.binnedTol). 1e-3 was measured against it
 * (bench/results/2026-11-27-host-costs.md, Update 11): on the small speed sets it ends the
 * binned fit after 8–10 iterations instead of 15 with the same fine-tune, but two EDX cubes then
 * need more fine-tune iterations (50 instead of 33, 17 instead of 15, with 8 binned) and ESPM's
 * toy (λ = μ = 0) takes 25 binned + 310 fine-tune iterations instead of 110 + 250, 0.9 s more.
 */
export const DEFAULT_BINNED_TOL = 1e-4;
export const DEFAULT_WARM_ITER = { oneK: 50, severalK: 100 } as const;
/** AutoFitOptions.startBin: the coarse start's bin where the tuning keeps full resolution. */
export const DEFAULT_START_BIN = 2;
/** Binned iterations of that coarse start (AutoFitOptions.startBin). */
export const START_ONLY_ITER = 1;

/**
 * AutoFitOptions.startBin's default on a backend: DEFAULT_START_BIN, but 1 (no coarse start) on
 * a hardware GPU. There an iteration costs 0.1–2 ms, so the 10–20 fine-tune iterations the
 * coarse start saves are worth a few milliseconds, less than its host work (binning, the binned
 * cube's nndsvda start and upload, the least-squares maps at full resolution).
 */
export function defaultStartBin(backend: Backend): number {
  return backend.software === false ? 1 : DEFAULT_START_BIN;
}

export type AutoStage = 'bin' | 'tune' | 'binned-fit' | 'upsample' | 'fine-tune';

export interface AutoProgress {
  stage: AutoStage;
  message: string;
}

export interface AutoFitOptions {
  /** k, or the candidate values of k to choose from (by held-out deviance, smallest within 1 SE of the best). */
  components: number | readonly number[];
  /** Image shape (rows × cols = pixels). Required: binning and λ need it. */
  shape: ImageShape;
  /** Known matrix G (channels × m). */
  G?: Matrix;
  /** Spatial bin factor; default: chosen from the data (`chooseBin`). */
  bin?: number;
  /** Channels summed per group in the binned stages. Default 1. */
  channelBin?: number;
  /** λ grid at the binned level. Default DEFAULT_LAMBDAS. */
  lambdas?: readonly number[];
  /** μ grid (the same at both levels). Default DEFAULT_MUS. */
  mus?: readonly number[];
  /** Refine around the best grid point (a second batch: log-midpoints to its grid neighbours in λ and μ, inside the grid's range; see `refineValues`). Default true. */
  refine?: boolean;
  /**
   * How λ, μ are chosen from the held-out scores: 'one-se' (default: the most regularised
   * candidate, largest μ then largest λ, within one standard error of the lowest score — the
   * one-standard-error rule of cross-validation) or 'best' (the lowest score). Evidence
   * (bench/auto-evidence.ts quality, 10 generator data sets): the lowest held-out deviance sat at
   * less regularisation than the map-MSE optimum on 8 of 10 sets; with the half-decade λ grid and
   * b^2.5, map MSE within 15 % of the oracle grid's best on 10 of 10 sets with 'one-se' (16 of 18
   * with `--extra`), 9 of 10 with 'one-se' ordered λ first (15 of 18). μ first: the held-out
   * deviance barely resolves μ, which is where leaning on the more regularised value pays; that
   * order changed one choice of the 18 (48×48/20/1: μ 0.03 → 1, ratio 1.18 → 0.92).
   */
  weightRule?: 'best' | 'one-se';
  /** Independent count splits; each gives two folds (A→B and B→A). Default 1. */
  splits?: number;
  /**
   * Iterations of every tuning candidate: a fixed budget (no early stop, so that candidates are
   * compared at equal effort), from a shared warm start per fold (`warmIter` unregularised
   * iterations on that fold's training half). Default 100 and 50 for one k; 300 and 100 when
   * choosing among several k: with 100 and 50 the candidates were too far from convergence to
   * compare k (data made with k = 3..5 gave k + 1 in 5 of 9 seeds, the larger k only descending
   * faster; 9 of 9 right with 300 and 100, bench k). For one k the longer budget did not help the
   * choice of λ, μ (bench quality: map MSE ratios to the oracle 1.21, 1.00, 1.02, 1.15 with 100;
   * 1.22, 1.21, 1.02, 1.15 with 300) and on ESPM's toy it chose a λ whose full fit fell into a
   * worse local optimum, in 5× the time.
   */
  tuneMaxIter?: number;
  warmIter?: number;
  /**
   * Whole-binned-cube fit. Default 1000 and 1e-4: it only seeds the fine-tune. On four images
   * (bench/auto-evidence.ts binned-tol) 1e-6 took 40–50 binned iterations, 1e-4 20–30, and the
   * fine-tune the same either way; on the quality sets the fine-tune took at most 10 more. The
   * counter-case is unregularised: ESPM's toy (λ = μ = 0) takes 150 binned + 430 fine-tune
   * iterations at 1e-4 vs 720 + 220 at 1e-6 (whole run 13.3 vs 13.0 s; `toy --binned-tol`).
   */
  binnedMaxIter?: number;
  binnedTol?: number;
  /**
   * The binned fit's loss sampled every N iterations. Default 5 (`lossEvery` where that is given):
   * its stopping rule then first fires at 10 or 15 iterations instead of 20. On the seven binned
   * speed sets (bench/auto-evidence.ts speed, Update 7) the fine-tune reached the ESPM-step scratch
   * loss after the same number of iterations from 15 binned iterations as from 20, and from 10.
   */
  binnedLossEvery?: number;
  /** Full-resolution fine-tune. Default 2000 and 1e-6 (StopRule: mean relative loss change per iteration, relative to the start loss). */
  maxIter?: number;
  tol?: number;
  /** Loss sampled every N iterations in every stage. Default 10. */
  lossEvery?: number;
  /** ε_reg. Default 1. */
  epsilonReg?: number;
  /**
   * The H step's bound of the Laplacian term in the binned fit and the fine-tune. Default 'tight':
   * the same objective and fixed points as ESPM's step in 2–7× fewer iterations (see `Majorizer`);
   * 'espm' gives ESPM's iterates. The tuning candidates always take ESPM's step (`TUNE_MAJORIZER`).
   */
  majorizer?: Majorizer;
  /**
   * Extrapolation β of the binned fit and the fine-tune (`SmoothNMFOptions.extrapolation`; the
   * tuning candidates never extrapolate). Default 0.7 with majorizer 'tight', else 0: from the
   * upsampled start the fine-tune reaches a from-scratch fit's converged loss in about half the
   * iterations (bench/results/2026-11-26-extrapolation.md).
   */
  extrapolation?: number;
  /** Seed of the count splits and the init. Default 0. */
  seed?: number;
  /** A backend name (default 'auto') or a backend to use (not disposed). */
  backend?: BackendName | Backend;
  /**
   * Where the tuning keeps full resolution (b = 1), the fine-tune still starts from a coarse
   * level: the nndsvda start of the startBin × startBin-binned cube, one binned iteration at
   * λ / startBin^2.5, upsampled and blended (`fineStart`), instead of the nndsvda start of the
   * whole cube. Default 2 on the CPU and software adapters, 1 (off) on hardware GPUs
   * (`defaultStartBin`); it applies only where the image keeps ≥ 8 binned pixels a side and no
   * channel binning is asked. The bin estimate says at which resolution λ and μ are chosen, not
   * whether a coarse start pays. On the two b = 1 speed sets (bench/results/2026-11-27-host-costs.md,
   * Update 8) the fine-tune then reached the ESPM-step scratch loss after 20 iterations instead
   * of 30 at 192 × 192 × 80 (whole path 5.9× in the speed study, 4.5× before), and after 60
   * instead of 80 at 64 × 48 × 80 (7.0×; 4.7–6.4× before). A converged coarse fit was worse at
   * 192 × 192 (30 fine-tune iterations: its optimum lacks the detail for which the bin estimate
   * kept full resolution).
   */
  startBin?: number;
  /** Skip the fine-tune (return its start: the binned spectra and the `fineStart` maps). Default false. */
  skipFineTune?: boolean;
  /**
   * The maps the fine-tune starts from: 'blend' (default) the mean of the upsampled binned maps
   * and the per-pixel least-squares maps for the binned spectra (see `blendedStart`);
   * 'upsampled' the upsampled maps alone.
   */
  fineStart?: 'blend' | 'upsampled';
  signal?: AbortSignal;
  onStage?: (p: AutoProgress) => void;
  onWarning?: (message: string) => void;
}

export interface Candidate {
  k: number;
  /** Weights at the binned level (where they were fitted) and at full resolution. */
  lambdaBinned: number;
  mu: number;
  lambdaFull: number;
  /** 'grid' or 'refine'. */
  round: 'grid' | 'refine';
  /** Held-out deviance summed over folds, per held-out count (NaN/Infinity if a fit failed). */
  score: number;
  foldScores: number[];
  iterations: number[];
}

export interface StageInfo {
  seconds: number;
  iterations?: number;
}

export interface AutoFitResult {
  W: Matrix64;
  H: Matrix64;
  D: Matrix64;
  k: number;
  lambda: number;
  mu: number;
  lambdaBinned: number;
  bin: BinChoice & { channelBin: number; binnedShape: ImageShape; croppedRows: number; croppedCols: number };
  /** Every candidate, in evaluation order. */
  validation: Candidate[];
  /** Per k: the best score and the 1-SE margin used for the choice. */
  kSelection: { k: number; score: number; lambdaBinned: number; mu: number; diffToBest: number; se: number }[];
  stages: {
    bin: StageInfo;
    tune: StageInfo & { candidates: number; batches: number; maxIterations: number };
    binnedFit: StageInfo & { stopReason: StopReason | null };
    upsample: StageInfo;
    fineTune: StageInfo & { stopReason: StopReason | null };
    total: StageInfo;
  };
  losses: LossSample[];
  binnedLosses: LossSample[];
  normFactor: number;
  majorizer: Majorizer;
  /** The extrapolation β of the binned fit and the fine-tune. */
  extrapolation: number;
  /** The bin of the level the fine-tune started from: the tuning's bin, or `startBin` where that is 1 (1: the nndsvda start of the whole cube). */
  startBin: number;
  backend: 'cpu' | 'webgpu';
  backendInfo: string;
  warnings: string[];
}

async function acquire(b: BackendName | Backend | undefined, warn: (m: string) => void): Promise<{ backend: Backend; owned: boolean }> {
  if (b && typeof b === 'object') return { backend: b, owned: false };
  const name = b ?? 'auto';
  if (name === 'cpu') return { backend: cpuBackend, owned: false };
  const gpu = await import('../gpu/index.js');
  if (name === 'webgpu') return { backend: await gpu.createWebGPUBackend(), owned: true };
  const probe = await gpu.webgpuAvailable();
  if (!probe.ok) {
    warn(`backend 'auto': no WebGPU adapter (${probe.reason ?? 'unknown reason'}); using the CPU reference`);
    return { backend: cpuBackend, owned: false };
  }
  return { backend: await gpu.createWebGPUBackend(), owned: true };
}

const now = () => performance.now();
const sqrt10 = Math.sqrt(10);

function checkGrid(name: string, values: readonly number[]): number[] {
  if (values.length === 0) throw usageError(`the ${name} grid is empty; give at least one value ≥ 0`);
  for (const v of values) if (!(v >= 0) || !Number.isFinite(v)) throw usageError(`the ${name} grid holds ${v}; every value must be finite and ≥ 0`);
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * The refinement values around the best grid value v: v and the log-midpoints between v and its
 * grid neighbours (√(v · neighbour); v/√10 below the smallest positive value when the lower
 * neighbour is 0; 0 refines towards the smallest positive grid value). The refinement stays
 * INSIDE the grid's range: past an end of the grid nothing is added, because the held-out
 * deviance is not a safe guide out there. Evidence (bench/auto-evidence.ts quality, 4 data
 * sets): with the default μ grid, extrapolating past μ = 1 to √10 won on the held-out deviance
 * in the three binned sets (a sharp drop as the maps snap towards the simplex vertices: fewer
 * effective parameters predict held-out counts better) while the matched map MSE was 1.4× and
 * 1.5× that at μ = 1 in the two b = 2 sets (0.8× in the b = 3, 20-count set). The grid's range
 * is the user's bound on μ; bench/results/ has the figures before and after.
 */
export function refineValues(v: number, grid: readonly number[]): number[] {
  const sorted = [...new Set(grid)].sort((a, b) => a - b);
  if (v === 0) {
    const pos = sorted.filter((x) => x > 0);
    return pos.length ? [0, pos[0] / sqrt10] : [0];
  }
  const i = sorted.indexOf(v);
  if (i < 0) throw usageError(`refineValues: ${v} is not a grid value`);
  const out = [v];
  if (i > 0) out.unshift(sorted[i - 1] > 0 ? Math.sqrt(sorted[i - 1] * v) : v / sqrt10);
  if (i < sorted.length - 1) out.push(Math.sqrt(v * sorted[i + 1]));
  return out;
}

const key = (l: number, m: number) => `${l.toPrecision(6)}|${m.toPrecision(6)}`;

/** Spreads binned-channel spectra (n_b × k, no G) back to n channels, evenly within each group. */
function unbinChannels(Wb: Matrix64, n: number, g: number): Matrix64 {
  const k = Wb.cols;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const grp = Math.floor(i / g);
    const size = Math.min(g, n - grp * g);
    for (let c = 0; c < k; c++) out[i * k + c] = Wb.data[grp * k + c] / size;
  }
  return { rows: n, cols: k, data: out };
}

/**
 * Paired comparison of two per-pixel held-out deviances (summed over folds): the difference of
 * their sums and its standard error (from the per-pixel differences), both per held-out count.
 */
function pairedDiff(dev: Float64Array, ref: Float64Array, pb: number, heldOutTotal: number): { diff: number; se: number } {
  let mean = 0;
  for (let j = 0; j < pb; j++) mean += dev[j] - ref[j];
  mean /= pb;
  let v = 0;
  for (let j = 0; j < pb; j++) v += (dev[j] - ref[j] - mean) ** 2;
  const sdSum = Math.sqrt((v / Math.max(1, pb - 1)) * pb);
  return { diff: (mean * pb) / heldOutTotal, se: sdSum / heldOutTotal };
}

export async function autoFit(X: Matrix, options: AutoFitOptions): Promise<AutoFitResult> {
  const t0 = now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const stage = (s: AutoStage, message: string) => options.onStage?.({ stage: s, message });
  const shape = options.shape;
  if (!shape) throw usageError('autoFit needs the image shape (rows × cols = pixels): binning and the Laplacian act on the image');
  if (shape.rows * shape.cols !== X.cols) {
    throw inputError(`shape ${shape.rows} × ${shape.cols} = ${shape.rows * shape.cols} pixels does not match X's ${X.cols} pixels (columns); fix the shape`);
  }
  const ks = [...new Set(typeof options.components === 'number' ? [options.components] : options.components)].sort((a, b) => a - b);
  if (ks.length === 0) throw usageError('components: give k or a list of candidate k');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw usageError(`components must be positive integers, got ${k}`);
  const lambdas = checkGrid('λ', options.lambdas ?? DEFAULT_LAMBDAS);
  const mus = checkGrid('μ', options.mus ?? DEFAULT_MUS);
  const g = options.channelBin ?? 1;
  if (!Number.isInteger(g) || g < 1) throw usageError(`channelBin must be a positive integer, got ${g}`);
  if (g > 1 && Math.ceil(X.rows / g) < 2) throw inputError(`channel bin ${g} leaves fewer than 2 channels of ${X.rows}; use a smaller channel bin`);
  const splits = options.splits ?? 1;
  if (!Number.isInteger(splits) || splits < 1) throw usageError(`splits must be a positive integer, got ${splits}`);
  const lossEvery = options.lossEvery ?? 10;
  const binnedLossEvery = options.binnedLossEvery ?? options.lossEvery ?? DEFAULT_BINNED_LOSS_EVERY;
  if (!Number.isInteger(binnedLossEvery) || binnedLossEvery < 1) throw usageError(`binnedLossEvery must be a positive integer, got ${binnedLossEvery}`);
  const epsilonReg = options.epsilonReg ?? 1;
  const majorizer: Majorizer = options.majorizer ?? 'tight';
  const weightRule = options.weightRule ?? 'one-se';
  if (weightRule !== 'best' && weightRule !== 'one-se') throw usageError(`weightRule must be 'best' or 'one-se', got ${JSON.stringify(weightRule)}`);
  if (majorizer !== 'tight' && majorizer !== 'espm') throw usageError(`majorizer must be 'tight' or 'espm', got ${JSON.stringify(majorizer)}`);
  const extrapolation = options.extrapolation ?? (majorizer === 'tight' ? DEFAULT_EXTRAPOLATION : 0);
  if (!(typeof extrapolation === 'number' && extrapolation >= 0 && extrapolation < 1)) {
    throw usageError(`extrapolation must be a number from 0 up to (not including) 1, got ${JSON.stringify(extrapolation)}`);
  }
  if (options.startBin !== undefined && (!Number.isInteger(options.startBin) || options.startBin < 1)) {
    throw usageError(`startBin must be a positive integer, got ${options.startBin}`);
  }
  const fineStart = options.fineStart ?? 'blend';
  if (fineStart !== 'blend' && fineStart !== 'upsampled') throw usageError(`fineStart must be 'blend' or 'upsampled', got ${JSON.stringify(fineStart)}`);
  const seed = options.seed ?? 0;
  const X64 = toFloat64(X);
  const G = options.G ? toFloat64(options.G) : undefined;
  if (G && G.rows !== X.rows) throw inputError(`G has ${G.rows} rows but X has ${X.rows} channels; G must be channels × m`);
  const checkAbort = () => {
    if (options.signal?.aborted) {
      const e = new WebnmfError('runtime', 'autoFit aborted');
      e.name = 'AbortError';
      throw e;
    }
  };

  // ---- 1. bin -------------------------------------------------------------------------------
  const tb = now();
  stage('bin', 'choosing the bin factor');
  const choice = chooseBin(X64, shape, options.bin);
  if (choice.reason === 'too-small') warn(choice.message);
  const cube: BinnedCube = binCube(X64, shape, choice.b, g, G);
  const nb = cube.X.rows;
  const pb = cube.X.cols;
  const allowed = Math.min(nb, G ? G.cols : nb, pb, X.rows);
  const tooBig = ks.filter((k) => k > allowed);
  if (tooBig.length) {
    throw usageError(
      `components ${tooBig.join(', ')} exceed what the data allows: at most min(binned channels ${nb}${G ? `, G columns ${G.cols}` : ''}, binned pixels ${pb}) = ${allowed} components can be told apart here; give fewer components${choice.b > 1 || g > 1 ? ' or a smaller --bin / --channel-bin' : ''}`,
    );
  }
  stage('bin', `${choice.message}; binned cube ${cube.shape.rows} × ${cube.shape.cols} pixels × ${nb} channels`);
  const binSeconds = (now() - tb) / 1000;

  const { backend, owned } = await acquire(options.backend, warn);
  try {
    // ---- 2. tune ------------------------------------------------------------------------------
    const tt = now();
    const sB = normalizationFactor(cube.X, 1); // per-unit factor; × k below
    const folds: { train: Matrix64; heldOut: HeldOutCounts }[] = [];
    for (let s = 0; s < splits; s++) {
      const { A, B } = thinCounts(cube.X, 0.5, seed + 1000 * s + 1);
      folds.push({ train: A, heldOut: heldOutCounts(B) }, { train: B, heldOut: heldOutCounts(A) });
    }
    // the held-out counts' sum, in flat order (their list skips only zeros)
    let heldOutTotal = 0;
    for (const f of folds) for (const v of f.heldOut.val) heldOutTotal += v;
    const validation: Candidate[] = [];
    const perPixelBest = new Map<number, { cand: Candidate; dev: Float64Array }>();
    const picked = new Map<number, Candidate>();
    let batches = 0;
    let maxIterSeen = 0;
    let totalTuneIters = 0;
    const tuneMaxIter = options.tuneMaxIter ?? (ks.length > 1 ? DEFAULT_TUNE_ITER.severalK : DEFAULT_TUNE_ITER.oneK);
    const warmIter = options.warmIter ?? (ks.length > 1 ? DEFAULT_WARM_ITER.severalK : DEFAULT_WARM_ITER.oneK);

    for (const k of ks) {
      const s = sB * k;
      // One prepared base problem per fold: the candidates share its X (one batch per fold).
      const bases: Problem[] = folds.map((f, fi) => {
        const Xn: Matrix64 = scaled(f.train, s);
        return prepareProblem(Xn, {
          components: k,
          G: cube.G,
          shape: cube.shape,
          simplex: 'h',
          majorizer: TUNE_MAJORIZER,
          epsilonReg,
          normalize: false,
          maxIter: tuneMaxIter,
          noStop: true,
          lossEvery: Math.max(lossEvery, tuneMaxIter),
          seed: seed + fi,
        }).problem;
      });
      if (warmIter > 0) {
        // Shared warm start per fold: unregularised iterations on the training half, all folds in turn.
        stage('tune', `k = ${k}: warm start (${warmIter} iterations per fold)`);
        for (const [fi, base] of bases.entries()) {
          checkAbort();
          const r = await backend.solve({ ...base, maxIter: warmIter, lossEvery: warmIter }, { signal: options.signal });
          totalTuneIters += r.nIter;
          bases[fi] = { ...base, W0: r.W, H0: r.H };
        }
      }
      const seen = new Map<string, { cand: Candidate; dev: Float64Array }>();
      const evaluate = async (pairs: [number, number][], round: 'grid' | 'refine') => {
        const todo = pairs.filter(([l, m]) => !seen.has(key(l, m)));
        if (todo.length === 0) return;
        const cands: Candidate[] = todo.map(([l, m]) => ({
          k,
          lambdaBinned: l,
          mu: m,
          lambdaFull: rescaleWeights(l, m, cube.b).lambda,
          round,
          score: 0,
          foldScores: [],
          iterations: [],
        }));
        const devs = todo.map(() => new Float64Array(pb));
        for (const [fi, base] of bases.entries()) {
          checkAbort();
          stage('tune', `k = ${k}: ${round} of ${todo.length} candidates, fold ${fi + 1}/${bases.length}`);
          const problems = todo.map(([l, m]) => ({ ...base, lambda: l, mu: new Float64Array(k).fill(m) }));
          const results = await backend.solveBatch(problems, { signal: options.signal });
          batches++;
          results.forEach((r, ci) => {
            const D = computeD(r.W, cube.G);
            const dev = deviancePerPixel(folds[fi].heldOut, D, r.H, 1 / s);
            let sum = 0;
            for (let j = 0; j < pb; j++) {
              sum += dev[j];
              devs[ci][j] += dev[j];
            }
            cands[ci].foldScores.push(sum / heldOutTotal);
            cands[ci].iterations.push(r.nIter);
            maxIterSeen = Math.max(maxIterSeen, r.nIter);
            totalTuneIters += r.nIter;
          });
        }
        cands.forEach((c, ci) => {
          c.score = c.foldScores.reduce((a, b) => a + b, 0);
          if (!Number.isFinite(c.score)) c.score = Number.POSITIVE_INFINITY;
          validation.push(c);
          seen.set(key(c.lambdaBinned, c.mu), { cand: c, dev: devs[ci] });
        });
      };
      const bestOf = () => {
        let best: { cand: Candidate; dev: Float64Array } | undefined;
        for (const e of seen.values()) if (Number.isFinite(e.cand.score) && (!best || e.cand.score < best.cand.score)) best = e;
        return best;
      };
      await evaluate(
        lambdas.flatMap((l) => mus.map((m) => [l, m] as [number, number])),
        'grid',
      );
      let best = bestOf();
      if (!best) {
        throw new WebnmfError(
          'runtime',
          `no candidate of the λ × μ grid (${lambdas.length} × ${mus.length}, k = ${k}) gave a finite held-out score: every fit failed (NaN) or predicted zero counts where counts were observed. Try smaller λ and μ values, a smaller --bin, or check the data for empty channels`,
        );
      }
      if (options.refine ?? true) {
        const ls = refineValues(best.cand.lambdaBinned, lambdas);
        const ms = refineValues(best.cand.mu, mus);
        await evaluate(
          ls.flatMap((l) => ms.map((m) => [l, m] as [number, number])),
          'refine',
        );
        best = bestOf()!;
      }
      perPixelBest.set(k, best);
      // The weights for this k: the best, or ('one-se') the most regularised candidate (largest μ,
      // then largest λ) within one standard error of it (paired per-pixel differences, as for k).
      let pick = best;
      if (weightRule === 'one-se') {
        for (const e of seen.values()) {
          if (!Number.isFinite(e.cand.score)) continue;
          const { diff, se } = pairedDiff(e.dev, best.dev, pb, heldOutTotal);
          if (diff > se) continue;
          const more = e.cand.mu > pick.cand.mu || (e.cand.mu === pick.cand.mu && e.cand.lambdaBinned > pick.cand.lambdaBinned);
          if (more) pick = e;
        }
      }
      picked.set(k, pick.cand);
    }

    // k: the smallest whose score is within one standard error of the best (paired per-pixel differences).
    const kBestScore = Math.min(...ks.map((k) => perPixelBest.get(k)!.cand.score));
    const kTop = ks.find((k) => perPixelBest.get(k)!.cand.score === kBestScore)!;
    const topDev = perPixelBest.get(kTop)!.dev;
    const kSelection = ks.map((k) => {
      const e = perPixelBest.get(k)!;
      const { diff, se } = pairedDiff(e.dev, topDev, pb, heldOutTotal);
      return { k, score: e.cand.score, lambdaBinned: e.cand.lambdaBinned, mu: e.cand.mu, diffToBest: diff, se };
    });
    const chosenK = kSelection.find((e) => e.diffToBest <= e.se)!.k;
    const chosen = picked.get(chosenK)!;
    const k = chosenK;
    const { lambda, mu } = rescaleWeights(chosen.lambdaBinned, chosen.mu, cube.b);
    stage('tune', `chosen k = ${k}, λ = ${chosen.lambdaBinned} binned (${lambda} full resolution), μ = ${mu}`);
    const tuneSeconds = (now() - tt) / 1000;
    checkAbort();

    // ---- 3. binned fit + upsample -------------------------------------------------------------
    const sFull = normalizationFactor(X64, k);
    let W0: Matrix64 | undefined;
    let H0: Matrix64 | undefined;
    let binnedFit: { seconds: number; iterations: number; stopReason: StopReason | null; losses: LossSample[] } = {
      seconds: 0,
      iterations: 0,
      stopReason: null,
      losses: [],
    };
    let upsampleSeconds = 0;
    const multires = cube.b > 1 || g > 1;
    const startBinOpt = options.startBin ?? defaultStartBin(backend);
    // Full resolution kept by the tuning: a coarse start all the same (AutoFitOptions.startBin).
    const coarseStart = !multires && startBinOpt > 1 && Math.floor(shape.rows / startBinOpt) >= 8 && Math.floor(shape.cols / startBinOpt) >= 8;
    const startBin = multires ? cube.b : coarseStart ? startBinOpt : 1;
    if (multires || coarseStart) {
      const tf = now();
      const level: BinnedCube = coarseStart ? binCube(X64, shape, startBin, 1, G) : cube;
      stage('binned-fit', coarseStart ? `a coarse start from the ${level.shape.rows} × ${level.shape.cols} binned cube` : `fitting the whole binned cube (${level.shape.rows} × ${level.shape.cols})`);
      const sb = coarseStart ? normalizationFactor(level.X, k) : sB * k;
      const { problem } = prepareProblem(level.X, {
        components: k,
        G: level.G,
        shape: level.shape,
        simplex: 'h',
        majorizer,
        extrapolation,
        lambda: coarseStart ? lambda / startBin ** LAMBDA_BIN_EXPONENT : chosen.lambdaBinned,
        mu: chosen.mu,
        epsilonReg,
        normalize: true,
        maxIter: coarseStart ? START_ONLY_ITER : (options.binnedMaxIter ?? 1000),
        tol: options.binnedTol ?? DEFAULT_BINNED_TOL,
        lossEvery: binnedLossEvery,
        seed,
      });
      const r = await backend.solve(problem, { signal: options.signal });
      binnedFit = { seconds: (now() - tf) / 1000, iterations: r.nIter, stopReason: r.stopReason, losses: r.losses };
      const tu = now();
      stage('upsample', 'upsampling the binned solution');
      const Hup = level.b > 1 ? upsampleMaps(r.H, level.shape, level.b, shape, EPSILON) : r.H;
      // Normalised W: W_full = s_full · W_raw_full, W_raw_full = W_raw_b / b², W_raw_b = W_b / s_b.
      const f = sFull / (sb * level.b * level.b);
      const Wb = G ? r.W : unbinChannels(r.W, X.rows, g);
      W0 = { rows: Wb.rows, cols: Wb.cols, data: Wb.data.map((v) => Math.max(v * f, EPSILON)) };
      H0 = fineStart === 'blend' ? blendedStart(Hup, leastSquaresMaps(X64, computeD(W0, G)), EPSILON) : Hup;
      upsampleSeconds = (now() - tu) / 1000;
    }
    checkAbort();

    // ---- 4. fine-tune -------------------------------------------------------------------------
    const tft = now();
    stage('fine-tune', multires || coarseStart ? 'fine-tuning at full resolution from the upsampled start' : 'fitting at full resolution (no binning)');
    const { problem, normFactor } = prepareProblem(X64, {
      components: k,
      G,
      shape,
      simplex: 'h',
      majorizer,
      extrapolation,
      lambda,
      mu,
      epsilonReg,
      normalize: true,
      ...(W0 && H0 ? { W0, H0, init: 'custom' as const } : { seed }),
      maxIter: options.skipFineTune ? 1 : (options.maxIter ?? 2000),
      tol: options.tol ?? 1e-6,
      lossEvery,
    }, warn);
    let Wn: Matrix64;
    let H: Matrix64;
    let fine: { iterations: number; stopReason: StopReason | null; losses: LossSample[]; info: string };
    if (options.skipFineTune && W0 && H0) {
      Wn = problem.W0;
      H = problem.H0;
      fine = { iterations: 0, stopReason: null, losses: [], info: '' };
    } else {
      const r = await backend.solve(problem, { signal: options.signal });
      Wn = r.W;
      H = r.H;
      fine = { iterations: r.nIter, stopReason: r.stopReason, losses: r.losses, info: r.backendInfo };
    }
    const fineSeconds = (now() - tft) / 1000;
    const W: Matrix64 = { rows: Wn.rows, cols: Wn.cols, data: Wn.data.map((v) => v / normFactor) };
    const D = computeD(W, G);
    return {
      W,
      H,
      D: D === W ? { rows: W.rows, cols: W.cols, data: W.data.slice() } : D,
      k,
      lambda,
      mu,
      lambdaBinned: chosen.lambdaBinned,
      bin: {
        ...choice,
        channelBin: g,
        binnedShape: cube.shape,
        croppedRows: cube.croppedRows,
        croppedCols: cube.croppedCols,
      },
      validation,
      kSelection,
      stages: {
        bin: { seconds: binSeconds },
        tune: { seconds: tuneSeconds, iterations: totalTuneIters, candidates: validation.length, batches, maxIterations: maxIterSeen },
        binnedFit: { seconds: binnedFit.seconds, iterations: binnedFit.iterations, stopReason: binnedFit.stopReason },
        upsample: { seconds: upsampleSeconds },
        fineTune: { seconds: fineSeconds, iterations: fine.iterations, stopReason: fine.stopReason },
        total: { seconds: (now() - t0) / 1000 },
      },
      losses: fine.losses,
      binnedLosses: binnedFit.losses,
      normFactor,
      majorizer,
      extrapolation,
      startBin,
      backend: backend.name,
      backendInfo: fine.info || (backend.name === 'cpu' ? 'cpu (float64 reference)' : 'webgpu'),
      warnings,
    };
  } finally {
    if (owned) backend.dispose();
  }
}
