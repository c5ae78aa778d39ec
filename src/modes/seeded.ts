/**
 * Random and seeded NNMF as modes (HS-MOSAIC's "random NNMF" and "seeded NNMF").
 *
 * LAYOUT. webnmf: X (channels × pixels) ≈ D H with D (channels × k) the SPECTRA and H (k × pixels)
 * the MAPS. HS-MOSAIC writes X(pixels × channels) ≈ W H and calls the spectra H and the maps W.
 * So HS-MOSAIC's "H0 rows" are our D0 columns, its "W0 columns" our H0 rows, its "W-seed modes"
 * build our H0 (maps) from our D0 (spectra), and its "residual-based H seed fallback" fills our
 * missing D0 columns.
 *
 * SPECTRUM SEEDS (D0 columns): a number array (one value per channel), a Gaussian resonance model
 * { centre, width, amplitude? } (or { gaussians: [...] }, summed), or null/undefined = missing.
 * Gaussian: s_j = Σ amplitude · exp(−(ν_j − centre)² / (2 width²)) with ν_j = offset + j · scale
 * the channel axis (`axis`, default the channel index) and width the standard deviation in axis
 * units (FWHM = 2.3548 · width). amplitude defaults to 1.
 *
 * MAP SEEDS (H0 rows): an array of p values per component, or null/undefined = generated.
 * Given maps are used as they are, unless `overwriteMaps` is true and the component has a usable
 * spectrum, in which case the map is rebuilt by the W-seed mode.
 *
 * W-SEED MODES (how a map h_c, a row of H0, is built from the data X and the spectra D0; d_c is
 * column c of D0, x_p pixel p's spectrum, d̂_c = d_c / ‖d_c‖₂):
 *   'nnls'            h_·p = argmin_{h ≥ 0} ‖x_p − D0 h‖₂ for every pixel, all components at once
 *                     (the fixed-spectra NNLS mode, on the selected backend).
 *   'selective_score' s_cp = max(⟨d̂_c, x_p⟩, 0) (target projection);
 *                     h_cp = s_cp · s_cp / Σ_c' s_c'p (the projection weighted by the component's
 *                     share of all seeded projections at that pixel: pixels that score well
 *                     against competing spectra are down-weighted, but no single winner is forced).
 *   'h_weighted'      h_cp = Σ_j d_jc x_jp / Σ_j d_jc (the channel-weighted image, spectrum as
 *                     channel weights).
 *   'average'         h_cp = (1/n) Σ_j x_jp (the average image, the same for every component).
 *   'empty'           h_cp = 1 (homogeneous, almost neutral).
 * Every generated map is divided by its maximum (unit maximum); a generated map that is all
 * zero falls back to the 'average' map (with a warning). Spectra keep their own scale.
 *
 * RESIDUAL-BASED FALLBACK for a missing spectrum (components filled one after another, each new
 * spectrum joining the basis before the next):
 *   1. basis B = the usable spectra known so far (possibly none);
 *   2. working data = X (webnmf has no background-subtracted variant);
 *   3. per-pixel NNLS of B against every pixel (none: the fit is 0);
 *   4. positive residual R = max(X − B A, 0);
 *   5. score_p = ‖r_p‖₂ · (1 − max_b cos(r_p, b)) ('novelty', default: prefers spectra the basis
 *      does not describe yet) or ‖r_p‖₁ ('residual'); the top max(minPixels, ⌈fraction · p⌉)
 *      pixels are selected (defaults 10 and 1 %);
 *   6. each selected residual spectrum is divided by its own maximum, they are averaged, the
 *      average is smoothed by a centred moving average of `smooth` channels (default 5; shrinking
 *      at the edges), divided by its maximum and clamped at 1e-6 (strictly positive);
 *   7. rescaled to the median maximum of the known spectra, or, with none known, to the mean
 *      maximum of the selected residual spectra.
 *   When the residual is unusable (every selected residual's maximum ≤ 1e-6 · max X), a smoothed uniform random
 *   spectrum (seeded by `seed`) at the same scale is used, with a warning.
 *
 * MU START. The engine lifts the custom start to ≥ ε = 1e-14 at the solver boundary only (the
 * seeds reported back in `D0`/`H0` are not lifted). Both D and H are updated during the fit.
 *
 * STOPPING ('sampled', default, HS-MOSAIC's rule): E = ‖X − D H‖_F (Frobenius) or the KL
 * divergence (KL) is sampled every `lossEvery` (10) iterations; the fit stops at the first sample
 * where (E_prev − E)/max(E_prev, ε) ≤ tol (1e-4) for `patience` (1) consecutive samples, or at
 * maxIter (1000). The iterate returned is the one at the stopping time, which on WebGPU may be up
 * to lossEvery − 1 iterations past the triggering sample. 'espm' uses the engine's rule instead
 * (src/problem/stopping.ts).
 */
import { Estimator } from '../base-estimator.js';
import { fitSmoothNMF, rescaleToUnitSums, type SmoothNMFOptions } from '../estimator.js';
import { WebnmfError } from '../errors.js';
import type { FitResult } from '../options.js';
import { createRandom } from '../random.js';
import type { BackendName, LossKind, Matrix, Matrix64 } from '../types.js';
import {
  bool,
  checkMatrix,
  checkOptions,
  frobeniusError,
  input,
  klDivergence,
  int,
  isNum,
  oneOf,
  real,
  resolveBackend,
  SampledErrorStop,
  toF64,
  usage,
  type FitSummary,
} from './common.js';
import { fitNNLS } from './nnls.js';

export type WSeedMode = 'nnls' | 'selective_score' | 'h_weighted' | 'average' | 'empty';
export const W_SEED_MODES: readonly WSeedMode[] = ['nnls', 'selective_score', 'h_weighted', 'average', 'empty'];

export interface GaussianPeak {
  centre: number;
  /** Standard deviation, in axis units. */
  width: number;
  /** Default 1. */
  amplitude?: number;
}
export type SpectrumSeed = ArrayLike<number> | GaussianPeak | { gaussians: readonly GaussianPeak[] } | null | undefined;

export interface FallbackOptions {
  /** Fraction of pixels selected as strong residual pixels. Default 0.01. */
  fraction?: number;
  /** At least this many pixels (capped at p). Default 10. */
  minPixels?: number;
  /** Moving-average window (channels). Default 5. */
  smooth?: number;
  /** Pixel score. Default 'novelty'. */
  score?: 'novelty' | 'residual';
}

export type StoppingRule = 'sampled' | 'espm';

/** Options shared by NMF and SeededNMF. */
export interface NMFModeOptions {
  components: number;
  /** Default 'frobenius' (HS-MOSAIC's). */
  loss?: LossKind;
  /** Default 1000. */
  maxIter?: number;
  /** Default 1e-4. */
  tol?: number;
  /** Error sampled every this many iterations. Default 10. */
  lossEvery?: number;
  /** Sampled rule: consecutive samples under tol. Default 1. */
  patience?: number;
  /** Default 'sampled'. */
  stopping?: StoppingRule;
  seed?: number;
  backend?: BackendName;
  signal?: AbortSignal;
  onProgress?: SmoothNMFOptions['onProgress'];
  onWarning?: (message: string) => void;
}

export interface NMFOptions extends NMFModeOptions {
  /** Default 'random' (HS-MOSAIC's random NNMF); 'nndsvda' etc. as SmoothNMF. */
  init?: 'random' | 'nndsvd' | 'nndsvda' | 'nndsvdar';
}

export interface SeededNMFOptions extends NMFModeOptions {
  /** One seed per component (missing → residual fallback), or a channels × k matrix. */
  spectra?: readonly SpectrumSeed[] | Matrix;
  /** One map (p values) per component (missing → W-seed mode), or a k × pixels matrix. */
  maps?: readonly (ArrayLike<number> | null | undefined)[] | Matrix;
  /** Default 'nnls'. */
  wSeed?: WSeedMode;
  /** Rebuild given maps from usable spectra with the W-seed mode. Default false. */
  overwriteMaps?: boolean;
  /** Channel axis for Gaussian seeds: ν_j = offset + j · scale. Default { offset: 0, scale: 1 }. */
  axis?: { offset: number; scale: number };
  fallback?: FallbackOptions;
}

export type SpectrumSource = 'given' | 'gaussian' | 'residual' | 'random';
export type MapSource = 'given' | WSeedMode | 'average (fallback)';

export interface ModeFitResult {
  /** n × k spectra. */
  D: Matrix64;
  /** k × p maps. */
  H: Matrix64;
  /** Sampled errors E (see stopping), one per sample. */
  errors: { iteration: number; error: number }[];
  summary: FitSummary;
  warnings: string[];
  /** The raw engine result when the engine's own rule stopped the fit. */
  engine?: FitResult;
}

export interface SeededFitResult extends ModeFitResult {
  /** The seeds handed to the solver (before the ε lift): spectra n × k and maps k × p. */
  D0: Matrix64;
  H0: Matrix64;
  spectrumSources: SpectrumSource[];
  mapSources: MapSource[];
}

// ---- seeds ----------------------------------------------------------------------------------

const isPeak = (s: unknown): s is GaussianPeak =>
  !!s && typeof s === 'object' && 'centre' in (s as object) && 'width' in (s as object);
const isPeakList = (s: unknown): s is { gaussians: readonly GaussianPeak[] } =>
  !!s && typeof s === 'object' && Array.isArray((s as { gaussians?: unknown }).gaussians);

/** A Gaussian resonance model sampled on the channel axis. */
export function gaussianSpectrum(peaks: readonly GaussianPeak[], n: number, axis = { offset: 0, scale: 1 }, label = 'spectrum'): Float64Array {
  const out = new Float64Array(n);
  peaks.forEach((g, i) => {
    const a = g.amplitude ?? 1;
    if (!isNum(g.centre) || !isNum(g.width) || !(g.width > 0) || !isNum(a) || a < 0) {
      throw input(
        `${label}: Gaussian ${i} needs a finite centre, a width > 0 and an amplitude ≥ 0 ` +
          `(got centre ${g.centre}, width ${g.width}, amplitude ${a})`,
      );
    }
    for (let j = 0; j < n; j++) {
      const nu = axis.offset + j * axis.scale;
      out[j] += a * Math.exp(-((nu - g.centre) ** 2) / (2 * g.width * g.width));
    }
  });
  return out;
}

/** Resolves the spectrum seeds to per-component vectors (null = missing) and checks them. */
export function resolveSpectrumSeeds(
  seeds: SeededNMFOptions['spectra'],
  n: number,
  k: number,
  axis?: { offset: number; scale: number },
): { spectra: (Float64Array | null)[]; sources: (SpectrumSource | null)[] } {
  const spectra: (Float64Array | null)[] = new Array(k).fill(null);
  const sources: (SpectrumSource | null)[] = new Array(k).fill(null);
  if (seeds === undefined) return { spectra, sources };
  if (!Array.isArray(seeds) && typeof seeds === 'object' && 'rows' in seeds) {
    const M = seeds as Matrix;
    checkMatrix(M, 'spectra', { nonNegative: true });
    if (M.rows !== n) {
      throw input(
        `spectra is ${M.rows} × ${M.cols} but the data has ${n} channels: give the spectra as channels × components ` +
          `(${n} × ${k}), resampled to the data's channel axis (transpose a components × channels array).`,
      );
    }
    if (M.cols !== k) throw input(`spectra has ${M.cols} columns but components = ${k}: give one spectrum per component`);
    for (let c = 0; c < k; c++) {
      spectra[c] = Float64Array.from({ length: n }, (_, i) => M.data[i * k + c]);
      sources[c] = 'given';
    }
  } else {
    const list = seeds as readonly SpectrumSeed[];
    if (list.length > k) {
      throw input(`${list.length} spectrum seeds are given but components = ${k}: give at most one seed per component (null for missing)`);
    }
    list.forEach((s, c) => {
      if (s === null || s === undefined) return;
      if (isPeak(s) || isPeakList(s)) {
        spectra[c] = gaussianSpectrum(isPeak(s) ? [s] : s.gaussians, n, axis, `spectrum seed ${c}`);
        sources[c] = 'gaussian';
        return;
      }
      const arr = s as ArrayLike<number>;
      if (typeof arr.length !== 'number') throw usage(`spectrum seed ${c} must be a number array, a Gaussian { centre, width, amplitude } or null`);
      if (arr.length !== n) {
        throw input(
          `spectrum seed ${c} has ${arr.length} values but the data has ${n} channels: resample the seed to the data's ` +
            'channel axis (one value per channel), or give it as a Gaussian model { centre, width, amplitude }.',
        );
      }
      const v = Float64Array.from(arr);
      v.forEach((x, j) => {
        if (!Number.isFinite(x) || x < 0) throw input(`spectrum seed ${c} has ${x} at channel ${j}; seeds must be finite and ≥ 0`);
      });
      spectra[c] = v;
      sources[c] = 'given';
    });
  }
  spectra.forEach((v, c) => {
    if (v && !v.some((x) => x > 0)) {
      throw input(
        `spectrum seed ${c} is all zero (${sources[c] === 'gaussian' ? 'the Gaussian lies outside the channel axis or has amplitude 0' : 'every channel is 0'}): ` +
          'give a non-zero spectrum, or leave the seed out (null) so the residual fallback estimates it.',
      );
    }
  });
  return { spectra, sources };
}

/** Resolves given maps (null = to be generated). */
export function resolveMapSeeds(maps: SeededNMFOptions['maps'], p: number, k: number): (Float64Array | null)[] {
  const out: (Float64Array | null)[] = new Array(k).fill(null);
  if (maps === undefined) return out;
  if (!Array.isArray(maps) && typeof maps === 'object' && 'rows' in maps) {
    const M = maps as Matrix;
    checkMatrix(M, 'maps', { nonNegative: true });
    if (M.rows !== k || M.cols !== p) throw input(`maps is ${M.rows} × ${M.cols} but must be components × pixels = ${k} × ${p}`);
    for (let c = 0; c < k; c++) out[c] = Float64Array.from(M.data.subarray(c * p, (c + 1) * p));
    return out;
  }
  const list = maps as readonly (ArrayLike<number> | null | undefined)[];
  if (list.length > k) throw input(`${list.length} map seeds are given but components = ${k}: give at most one per component`);
  list.forEach((m, c) => {
    if (m === null || m === undefined) return;
    if (m.length !== p) {
      throw input(`map seed ${c} has ${m.length} values but the data has ${p} pixels: give one value per pixel (rows × cols, row-major)`);
    }
    const v = Float64Array.from(m);
    v.forEach((x, j) => {
      if (!Number.isFinite(x) || x < 0) throw input(`map seed ${c} has ${x} at pixel ${j}; maps must be finite and ≥ 0`);
    });
    out[c] = v;
  });
  return out;
}

/** Centred moving average of `w` channels (the window shrinks at the edges). */
export function movingAverage(v: Float64Array, w: number): Float64Array {
  const half = Math.max(0, Math.floor(w / 2));
  const out = new Float64Array(v.length);
  for (let j = 0; j < v.length; j++) {
    const a = Math.max(0, j - half);
    const b = Math.min(v.length - 1, j + half);
    let s = 0;
    for (let t = a; t <= b; t++) s += v[t];
    out[j] = s / (b - a + 1);
  }
  return out;
}

const maxOf = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, v[i]);
  return m;
};

const basisMatrix = (cols: Float64Array[], n: number): Matrix64 => {
  const k = cols.length;
  const data = new Float64Array(n * k);
  cols.forEach((v, c) => v.forEach((x, i) => (data[i * k + c] = x)));
  return { rows: n, cols: k, data };
};

/**
 * The residual-based fallback (see the file header): one new spectrum not explained by `basis`.
 * Returns the spectrum and whether it came from the residual ('residual') or the random fallback.
 */
export async function residualSpectrum(
  X: Matrix64,
  basis: Float64Array[],
  o: { fallback: FallbackOptions; seed: number; backend: BackendName; signal?: AbortSignal },
): Promise<{ spectrum: Float64Array; source: 'residual' | 'random' }> {
  const n = X.rows;
  const p = X.cols;
  const fb = o.fallback;
  // 3–4: positive residual of the NNLS fit of the basis.
  let R: Float64Array;
  if (basis.length === 0) R = X.data;
  else {
    const B = basisMatrix(basis, n);
    const fit = await fitNNLS(X, { spectra: B, backend: o.backend, signal: o.signal });
    const A = fit.H.data;
    const kb = basis.length;
    R = new Float64Array(n * p);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        let y = 0;
        for (let c = 0; c < kb; c++) y += B.data[i * kb + c] * A[c * p + j];
        R[i * p + j] = Math.max(X.data[i * p + j] - y, 0);
      }
    }
  }
  // 5: score and select strong residual pixels.
  const unitBasis = basis.map((b) => {
    const nb = Math.hypot(...b);
    return b.map((x) => x / nb);
  });
  const score = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    let l1 = 0;
    let l2 = 0;
    for (let i = 0; i < n; i++) {
      const r = R[i * p + j];
      l1 += r;
      l2 += r * r;
    }
    l2 = Math.sqrt(l2);
    if ((fb.score ?? 'novelty') === 'residual' || l2 === 0) score[j] = l1;
    else {
      let cmax = 0;
      for (const u of unitBasis) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i] * R[i * p + j];
        cmax = Math.max(cmax, d / l2);
      }
      score[j] = l2 * (1 - cmax);
    }
  }
  const m = Math.min(p, Math.max(fb.minPixels ?? 10, Math.ceil((fb.fraction ?? 0.01) * p)));
  const order = [...score.keys()].sort((a, b) => score[b] - score[a]).slice(0, m);
  // 6: normalise each by its own max, average, smooth, clamp.
  const avg = new Float64Array(n);
  let used = 0;
  let rawMaxSum = 0;
  let xmax = 0;
  for (let i = 0; i < X.data.length; i++) xmax = Math.max(xmax, X.data[i]);
  const floor = 1e-6 * xmax; // residuals at rounding level are not a spectrum
  for (const j of order) {
    let mx = 0;
    for (let i = 0; i < n; i++) mx = Math.max(mx, R[i * p + j]);
    if (!(mx > floor)) continue;
    for (let i = 0; i < n; i++) avg[i] += R[i * p + j] / mx;
    rawMaxSum += mx;
    used++;
  }
  // 7: the amplitude scale.
  const known = basis.map(maxOf).sort((a, b) => a - b);
  const median = known.length ? (known[(known.length - 1) >> 1] + known[known.length >> 1]) / 2 : 0;
  if (used === 0) {
    const rnd = createRandom(o.seed + 7919 * (basis.length + 1));
    const v = movingAverage(Float64Array.from({ length: n }, () => rnd.uniform()), Math.max(fb.smooth ?? 5, 5));
    const mx = maxOf(v);
    const scale = median > 0 ? median : xmax > 0 ? xmax : 1;
    return { spectrum: v.map((x) => Math.max(x / mx, 1e-6) * scale), source: 'random' };
  }
  for (let i = 0; i < n; i++) avg[i] /= used;
  const sm = movingAverage(avg, fb.smooth ?? 5);
  const mx = maxOf(sm);
  const scale = median > 0 ? median : rawMaxSum / used;
  return { spectrum: sm.map((x) => Math.max(x / mx, 1e-6) * scale), source: 'residual' };
}

/** Builds the maps (k × p, unit maximum per row) from spectra D (n × k) by a W-seed mode. */
export async function wSeedMaps(
  X: Matrix64,
  D: Matrix64,
  mode: WSeedMode,
  o: { backend: BackendName; signal?: AbortSignal } = { backend: 'cpu' },
): Promise<{ H: Matrix64; zeroRows: number[] }> {
  const n = X.rows;
  const p = X.cols;
  const k = D.cols;
  let H: Float64Array;
  const average = () => {
    const a = new Float64Array(p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) a[j] += X.data[i * p + j] / n;
    return a;
  };
  switch (mode) {
    case 'nnls':
      H = (await fitNNLS(X, { spectra: D, backend: o.backend, signal: o.signal })).H.data.slice();
      break;
    case 'selective_score': {
      H = new Float64Array(k * p);
      const norms = Array.from({ length: k }, (_, c) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += D.data[i * k + c] ** 2;
        return Math.sqrt(s);
      });
      const s = new Float64Array(k);
      for (let j = 0; j < p; j++) {
        let tot = 0;
        for (let c = 0; c < k; c++) {
          let d = 0;
          for (let i = 0; i < n; i++) d += D.data[i * k + c] * X.data[i * p + j];
          s[c] = Math.max(d / norms[c], 0);
          tot += s[c];
        }
        for (let c = 0; c < k; c++) H[c * p + j] = tot > 0 ? (s[c] * s[c]) / tot : 0;
      }
      break;
    }
    case 'h_weighted': {
      H = new Float64Array(k * p);
      for (let c = 0; c < k; c++) {
        let ds = 0;
        for (let i = 0; i < n; i++) ds += D.data[i * k + c];
        for (let i = 0; i < n; i++) {
          const w = D.data[i * k + c] / ds;
          if (w === 0) continue;
          for (let j = 0; j < p; j++) H[c * p + j] += w * X.data[i * p + j];
        }
      }
      break;
    }
    case 'average': {
      const a = average();
      H = new Float64Array(k * p);
      for (let c = 0; c < k; c++) H.set(a, c * p);
      break;
    }
    case 'empty':
      H = new Float64Array(k * p).fill(1);
      break;
  }
  const zeroRows: number[] = [];
  let avg: Float64Array | undefined;
  for (let c = 0; c < k; c++) {
    const row = H.subarray(c * p, (c + 1) * p);
    let mx = maxOf(row);
    if (!(mx > 0)) {
      zeroRows.push(c);
      avg ??= average();
      row.set(avg);
      mx = maxOf(row);
    }
    if (mx > 0) for (let j = 0; j < p; j++) row[j] /= mx;
    else row.fill(1);
  }
  return { H: { rows: k, cols: p, data: H }, zeroRows };
}

// ---- fitting --------------------------------------------------------------------------------

const MODE_CONSTRAINTS = {
  components: int(1),
  loss: oneOf('frobenius', 'kl'),
  maxIter: int(1),
  tol: real(0),
  lossEvery: int(1),
  patience: int(1),
  stopping: oneOf('sampled', 'espm'),
  seed: int(0),
  backend: oneOf('cpu', 'webgpu', 'auto'),
};
const MODE_KEYS = ['signal', 'onProgress', 'onWarning'];

/** E from a sampled loss (`full`, averaged over n·p): ‖X − DH‖_F (Frobenius) or the KL sum. */
const errorOf = (full: number, loss: LossKind, np: number) => (loss === 'frobenius' ? Math.sqrt(Math.max(2 * np * full, 0)) : full * np);

/**
 * Runs the engine (SmoothNMF, plain Frobenius/KL) from a start, with HS-MOSAIC's sampled-error
 * rule or the engine's own. The sampled rule watches the engine's loss samples and stops the
 * engine through an internal AbortSignal.
 */
export async function runNMF(
  X: Matrix,
  o: NMFModeOptions & { init?: SmoothNMFOptions['init']; W0?: Matrix64; H0?: Matrix64 },
  mode: FitSummary['mode'],
  warnings: string[],
): Promise<ModeFitResult> {
  const t0 = performance.now();
  const loss = o.loss ?? 'frobenius';
  const maxIter = o.maxIter ?? 1000;
  const tol = o.tol ?? 1e-4;
  const lossEvery = o.lossEvery ?? 10;
  const stopping = o.stopping ?? 'sampled';
  const np = X.rows * X.cols;
  const warn = (m: string) => {
    warnings.push(m);
    o.onWarning?.(m);
  };
  const backend = await resolveBackend(o.backend ?? 'auto', warn);
  const base: SmoothNMFOptions = {
    components: o.components,
    loss,
    maxIter,
    lossEvery,
    seed: o.seed ?? 0,
    backend,
    onWarning: warn,
    ...(o.W0 && o.H0 ? { init: 'custom' as const, W0: o.W0, H0: o.H0 } : { init: o.init ?? 'random' }),
  };
  const errors: { iteration: number; error: number }[] = [];
  if (stopping === 'espm') {
    const r = await fitSmoothNMF(X, { ...base, tol, signal: o.signal, onProgress: o.onProgress });
    for (const s of r.losses) errors.push({ iteration: s.iteration, error: errorOf(s.full, loss, np) });
    return {
      D: r.D,
      H: r.H,
      errors,
      summary: {
        mode, backend: r.backend, backendInfo: r.backendInfo, iterations: r.nIter, converged: r.stopReason !== 'max_iter',
        finalError: errors.at(-1)?.error ?? NaN, stopReason: r.stopReason, seconds: (performance.now() - t0) / 1000,
      },
      warnings,
      engine: r,
    };
  }
  const rule = new SampledErrorStop({ tol, patience: o.patience ?? 1 });
  const ctrl = new AbortController();
  let stoppedByRule = false;
  const onUserAbort = () => ctrl.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onUserAbort, { once: true });
  if (o.signal?.aborted) ctrl.abort(o.signal.reason);
  let W: Matrix64;
  let H: Matrix64;
  let nIter: number;
  let backendInfo = backend === 'cpu' ? 'cpu (float64 reference)' : 'webgpu';
  let stopReason: string;
  try {
    const r = await fitSmoothNMF(X, {
      ...base,
      noStop: true,
      tol,
      signal: ctrl.signal,
      onProgress: (pr) => {
        const e = errorOf(pr.loss, loss, np);
        errors.push({ iteration: pr.iteration, error: e });
        o.onProgress?.(pr);
        if (!stoppedByRule && rule.push(e)) {
          stoppedByRule = true;
          ctrl.abort(new Error('sampled-error rule met'));
        }
      },
    });
    // Ran to maxIter (the engine's D = W without G; KL already rescaled by fitSmoothNMF).
    W = r.D;
    H = r.H;
    nIter = r.nIter;
    backendInfo = r.backendInfo;
    // the rule may trigger at the last sample, where the engine ends on its own
    stopReason = stoppedByRule ? 'converged_sampled_error' : r.stopReason;
  } catch (e) {
    const err = e as WebnmfError;
    if (!stoppedByRule || err.name !== 'AbortError' || !err.details?.['W'] || !err.details?.['H']) throw e;
    W = err.details['W'] as Matrix64;
    H = err.details['H'] as Matrix64;
    nIter = err.details['iteration'] as number;
    if (loss === 'kl') ({ W, H } = rescaleToUnitSums(W, H));
    stopReason = 'converged_sampled_error';
    if (backend === 'webgpu') {
      const { webgpuAvailable } = await import('../gpu/index.js');
      backendInfo = `webgpu: ${(await webgpuAvailable()).adapterInfo ?? 'unknown adapter'}`;
    }
  } finally {
    o.signal?.removeEventListener('abort', onUserAbort);
  }
  if (!stoppedByRule && stopReason === 'max_iter') {
    warn(`NMF: reached maxIter = ${maxIter} before the sampled-error tolerance ${tol}; the result is iteration-limited: raise maxIter and re-run`);
  }
  // Final error in float64 on the returned iterate.
  const finalError = loss === 'frobenius' ? frobeniusError(X, W, H) : klDivergence(X, W, H);
  return {
    D: W,
    H,
    errors,
    summary: {
      mode, backend, backendInfo, iterations: nIter, converged: stoppedByRule, finalError, stopReason,
      seconds: (performance.now() - t0) / 1000,
    },
    warnings,
  };
}

function checkModeOptions(what: string, X: Matrix, o: NMFModeOptions, extra: Record<string, ReturnType<typeof int>>, extraKeys: string[]): void {
  checkOptions(what, o, { ...MODE_CONSTRAINTS, ...extra }, [...MODE_KEYS, ...extraKeys]);
  if (o.components === undefined) throw usage(`${what}: options.components (the number of components k) is required`);
  checkMatrix(X, 'X', { nonNegative: true });
  const lim = Math.min(X.rows, X.cols);
  if (o.components > lim) {
    throw input(
      `${what}: components = ${o.components} exceeds what the data allows: min(channels, pixels) = min(${X.rows}, ${X.cols}) = ${lim}. ` +
        `Choose components ≤ ${lim}.`,
    );
  }
}

/** Random NNMF (HS-MOSAIC's mode): the functional twin of `new NMF(options).fit(X)`. */
export async function fitNMF(X: Matrix, options: NMFOptions): Promise<ModeFitResult> {
  checkModeOptions('NMF', X, options, { init: oneOf('random', 'nndsvd', 'nndsvda', 'nndsvdar') }, []);
  return runNMF(X, options, 'nmf', []);
}

/** Seeded NNMF: the functional twin of `new SeededNMF(options).fit(X)`. */
export async function fitSeededNMF(X: Matrix, options: SeededNMFOptions): Promise<SeededFitResult> {
  checkModeOptions(
    'SeededNMF',
    X,
    options,
    { wSeed: oneOf(...W_SEED_MODES), overwriteMaps: bool },
    ['spectra', 'maps', 'axis', 'fallback'],
  );
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const X64 = toF64(X);
  const n = X64.rows;
  const p = X64.cols;
  const k = options.components;
  const axis = options.axis ?? { offset: 0, scale: 1 };
  if (!isNum(axis.offset) || !isNum(axis.scale) || axis.scale === 0) {
    throw usage(`SeededNMF: axis must be { offset, scale } with finite numbers and scale ≠ 0, got ${JSON.stringify(axis)}`);
  }
  const fb = options.fallback ?? {};
  if (fb.fraction !== undefined && !(fb.fraction > 0 && fb.fraction <= 1)) throw usage(`SeededNMF: fallback.fraction must be in (0, 1], got ${fb.fraction}`);
  if (fb.minPixels !== undefined && !(Number.isInteger(fb.minPixels) && fb.minPixels >= 1)) throw usage(`SeededNMF: fallback.minPixels must be an integer ≥ 1`);
  if (fb.smooth !== undefined && !(Number.isInteger(fb.smooth) && fb.smooth >= 1)) throw usage(`SeededNMF: fallback.smooth must be an integer ≥ 1 (channels)`);
  const backend = options.backend ?? 'auto';
  const seed = options.seed ?? 0;
  const wSeed = options.wSeed ?? 'nnls';

  const { spectra, sources } = resolveSpectrumSeeds(options.spectra, n, k, axis);
  const givenMaps = resolveMapSeeds(options.maps, p, k);

  // Missing spectra: residual fallback, one after another.
  const spectrumSources: SpectrumSource[] = [];
  for (let c = 0; c < k; c++) {
    if (spectra[c]) continue;
    const basis = spectra.filter((v): v is Float64Array => v !== null);
    const r = await residualSpectrum(X64, basis, { fallback: fb, seed: seed + c, backend, signal: options.signal });
    spectra[c] = r.spectrum;
    sources[c] = r.source;
    if (r.source === 'random') warn(`SeededNMF: component ${c} has no spectrum seed and the residual is empty; a random smooth spectrum was used`);
  }
  for (let c = 0; c < k; c++) spectrumSources.push(sources[c]!);
  const D0 = basisMatrix(spectra as Float64Array[], n);

  // Maps: given ones kept (unless overwritten), the rest from the W-seed mode.
  const mapSources: MapSource[] = [];
  const needGenerated = givenMaps.some((m) => m === null) || (options.overwriteMaps ?? false);
  const generated = needGenerated ? await wSeedMaps(X64, D0, wSeed, { backend, signal: options.signal }) : undefined;
  const H0 = new Float64Array(k * p);
  for (let c = 0; c < k; c++) {
    const g = givenMaps[c];
    if (g && !(options.overwriteMaps ?? false)) {
      H0.set(g, c * p);
      mapSources.push('given');
    } else {
      H0.set(generated!.H.data.subarray(c * p, (c + 1) * p), c * p);
      mapSources.push(generated!.zeroRows.includes(c) ? 'average (fallback)' : wSeed);
      if (generated!.zeroRows.includes(c)) warn(`SeededNMF: the '${wSeed}' map of component ${c} is all zero; the average image was used as its seed`);
    }
  }
  const H0m: Matrix64 = { rows: k, cols: p, data: H0 };
  const r = await runNMF(X64, { ...options, W0: D0, H0: H0m }, 'seeded-nmf', warnings);
  return {
    ...r,
    D0: { rows: n, cols: k, data: D0.data.slice() },
    H0: { rows: k, cols: p, data: H0.slice() },
    spectrumSources,
    mapSources,
  };
}

abstract class ModeEstimator<O extends NMFModeOptions, R extends ModeFitResult> extends Estimator<O, R> {
  /** Fits and returns the maps (k × pixels). */
  async fitTransform(X: Matrix, extra: Partial<O> = {}): Promise<Matrix64> {
    await this.fit(X, extra);
    return this.fitted.H;
  }
  /** Maps of new data with the fitted spectra locked (fixed-spectra NNLS, or KL map-only steps). */
  async transform(X: Matrix): Promise<Matrix64> {
    const { fitNNLS } = await import('./nnls.js');
    return (await fitNNLS(X, { spectra: this.fitted.D, loss: this.options.loss ?? 'frobenius', backend: this.options.backend })).H;
  }
  get D(): Matrix64 {
    return this.fitted.D;
  }
  get H(): Matrix64 {
    return this.fitted.H;
  }
  get summary(): FitSummary {
    return this.fitted.summary;
  }
}

/** Random NNMF (Frobenius by default, or KL): SmoothNMF without regularisation, random start. */
export class NMF extends ModeEstimator<NMFOptions, ModeFitResult> {
  constructor(options: NMFOptions) {
    super(options, 'NMF');
  }
  protected run(X: Matrix, o: NMFOptions) {
    return fitNMF(X, o);
  }
}

/** Seeded NNMF: spectra and/or maps as the start, both refined. */
export class SeededNMF extends ModeEstimator<SeededNMFOptions, SeededFitResult> {
  constructor(options: SeededNMFOptions) {
    super(options, 'SeededNMF');
  }
  protected run(X: Matrix, o: SeededNMFOptions) {
    return fitSeededNMF(X, o);
  }
  get D0(): Matrix64 {
    return this.fitted.D0;
  }
  get H0(): Matrix64 {
    return this.fitted.H0;
  }
}
