/**
 * A seeded synthetic spectrum image with a known answer, in ESPM's layout: X (n × p) Poisson counts
 * drawn from Xdot = G · trueW · trueH.
 *
 * What is generated (every choice here is ours, not ESPM's toy model):
 * - Energy axis: channel i is at `offset + i · scale` keV with offset 0.2 keV and scale 10/n keV
 *   (0.2 to 10.2 keV whatever the channel count; 50 eV per channel for 200 channels).
 * - G (n × m): m = gPeaks Gaussian peaks, one per column, at energies spread over [0.5, E_max − 0.5]
 *   keV (evenly spaced slots, each jittered by up to ±35 % of the slot). Widths follow an EDX
 *   detector: FWHM(E)² = (130 eV)² + 2.5 eV · (E − 5895 eV) (≈ 58 eV at 0.5 keV, 130 eV at Mn Kα,
 *   ≈ 165 eV at 10 keV), broadened by the channel width (σ² + scale²/12) and sampled at channel
 *   centres. Every column sums to 1.
 * - Optional background (`background` = b > 0): one more column of G, a bremsstrahlung-like
 *   continuum, Kramers' law (E0 − E)/E with E0 = 1.2 · E_max, times a soft detector-window
 *   absorption exp(−(0.6 keV / E)³), summing to 1. Each phase then puts a fraction b of its
 *   counts in the continuum.
 * - trueW (m × k, or (m+1) × k): the peaks are shuffled and dealt round-robin, so every component
 *   owns a distinct set of ⌊m/k⌋ or ⌈m/k⌉ peaks (weights 0.2 + Gamma(2)); each other peak joins
 *   a component with probability 0.15 with a weak weight (0.3 · Gamma(1)). Columns are scaled so
 *   that trueD = G · trueW has column sums equal to countsPerPixel.
 * - trueH (k × p): for each component a Gaussian random field (white noise blurred by a separable
 *   Gaussian of standard deviation `smoothness` pixels, reflecting edges), standardised; then a
 *   softmax over components of sharpness · field. Every column sums to 1 and each phase has
 *   regions where it dominates.
 * - Hence E[Σ_i X_ip] = countsPerPixel for every pixel p; X = Poisson(Xdot) elementwise.
 */
import { usageError } from './errors.js';
import { matmul, zeros } from './cpu/linalg.js';
import { Random } from './random.js';
import type { ImageShape, Matrix64 } from './types.js';

export interface SyntheticOptions {
  /** Image rows. Default 64. */
  rows?: number;
  /** Image columns. Default 64. */
  cols?: number;
  /** Energy channels n. Default 200. */
  channels?: number;
  /** Components (phases). Default 3. */
  k?: number;
  /** Number of Gaussian peak columns of G (m, before the optional background). Default 15. */
  gPeaks?: number;
  /** Expected counts per pixel. Default 300. */
  countsPerPixel?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** Length scale of the maps, in pixels (std of the Gaussian blur). Default 6. */
  smoothness?: number;
  /** Softmax sharpness of the maps: larger → purer phases, sharper borders. Default 4. */
  sharpness?: number;
  /** Fraction of each phase's counts in a bremsstrahlung-like continuum (adds a column to G). Default 0 (none). */
  background?: number;
}

export interface SyntheticDataset {
  /** n × p Poisson counts (integers stored as float64). */
  X: Matrix64;
  /** n × p noiseless expectation G · trueW · trueH. */
  Xdot: Matrix64;
  /** n × m (m = gPeaks, plus 1 with a background). */
  G: Matrix64;
  /** m × k. */
  trueW: Matrix64;
  /** n × k = G · trueW; each column sums to countsPerPixel. */
  trueD: Matrix64;
  /** k × p; each column sums to 1. */
  trueH: Matrix64;
  shape: ImageShape;
  energy: { offset: number; scale: number; units: 'keV' };
  /** Centre energy (keV) of each peak column of G. */
  peakEnergies: Float64Array;
  /** Whether G's last column is the background continuum. */
  hasBackground: boolean;
  k: number;
  seed: number;
}

function checkPositiveInt(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw usageError(`makeSyntheticDataset: ${name} must be a positive integer, got ${v}`);
}

/** Separable Gaussian blur of a rows × cols field with reflecting edges. */
function blur(field: Float64Array, shape: ImageShape, sigma: number): Float64Array {
  if (sigma <= 0) return field;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let ks = 0;
  for (let t = -radius; t <= radius; t++) {
    kernel[t + radius] = Math.exp((-0.5 * t * t) / (sigma * sigma));
    ks += kernel[t + radius];
  }
  for (let t = 0; t < kernel.length; t++) kernel[t] /= ks;
  const reflect = (i: number, n: number): number => {
    // Mirror about the edges (… 2 1 0 | 0 1 2 … n−1 | n−1 n−2 …), repeated for tiny images.
    const period = 2 * n;
    let j = ((i % period) + period) % period;
    if (j >= n) j = period - 1 - j;
    return j;
  };
  const { rows, cols } = shape;
  const tmp = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let t = -radius; t <= radius; t++) s += kernel[t + radius] * field[r * cols + reflect(c + t, cols)];
      tmp[r * cols + c] = s;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let t = -radius; t <= radius; t++) s += kernel[t + radius] * tmp[reflect(r + t, rows) * cols + c];
      out[r * cols + c] = s;
    }
  }
  return out;
}

/** The synthetic dataset for these options (all defaults: 64 × 64 pixels, 200 channels, k = 3). */
export function makeSyntheticDataset(opts: SyntheticOptions = {}): SyntheticDataset {
  const rows = opts.rows ?? 64;
  const cols = opts.cols ?? 64;
  const n = opts.channels ?? 200;
  const k = opts.k ?? 3;
  const mPeaks = opts.gPeaks ?? 15;
  const counts = opts.countsPerPixel ?? 300;
  const seed = opts.seed ?? 0;
  const smoothness = opts.smoothness ?? 6;
  const sharpness = opts.sharpness ?? 4;
  const bg = opts.background ?? 0;
  checkPositiveInt(rows, 'rows');
  checkPositiveInt(cols, 'cols');
  checkPositiveInt(n, 'channels');
  checkPositiveInt(k, 'k');
  checkPositiveInt(mPeaks, 'gPeaks');
  if (mPeaks < k) throw usageError(`makeSyntheticDataset: gPeaks (${mPeaks}) must be at least k (${k}) so that every phase owns a peak`);
  if (!(counts > 0) || !Number.isFinite(counts)) throw usageError(`makeSyntheticDataset: countsPerPixel must be > 0, got ${counts}`);
  if (!(smoothness >= 0) || !Number.isFinite(smoothness)) throw usageError(`makeSyntheticDataset: smoothness must be ≥ 0, got ${smoothness}`);
  if (!(sharpness >= 0) || !Number.isFinite(sharpness)) throw usageError(`makeSyntheticDataset: sharpness must be ≥ 0, got ${sharpness}`);
  if (!(bg >= 0 && bg < 1)) throw usageError(`makeSyntheticDataset: background must be in [0, 1), got ${bg}`);

  const rng = new Random(seed);
  const p = rows * cols;
  const shape = { rows, cols };
  const energy = { offset: 0.2, scale: 10 / n, units: 'keV' as const };
  const eMax = energy.offset + energy.scale * (n - 1);
  const channelEnergy = (i: number): number => energy.offset + energy.scale * i;

  // G: Gaussian peaks (and the optional continuum).
  const hasBackground = bg > 0;
  const m = mPeaks + (hasBackground ? 1 : 0);
  const G = zeros(n, m);
  const peakEnergies = new Float64Array(mPeaks);
  const lo = Math.min(0.5, eMax / 4);
  const hi = Math.max(eMax - 0.5, (3 * eMax) / 4);
  const slot = (hi - lo) / mPeaks;
  for (let j = 0; j < mPeaks; j++) {
    const e = lo + (j + 0.5) * slot + (rng.uniform() - 0.5) * 0.7 * slot;
    peakEnergies[j] = e;
    const fwhmEv = Math.sqrt(Math.max(130 * 130 + 2.5 * (e * 1000 - 5895), 40 * 40));
    const sigma = fwhmEv / 1000 / (2 * Math.sqrt(2 * Math.LN2));
    const s2 = sigma * sigma + (energy.scale * energy.scale) / 12;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const d = channelEnergy(i) - e;
      const v = Math.exp((-0.5 * d * d) / s2);
      G.data[i * m + j] = v;
      sum += v;
    }
    for (let i = 0; i < n; i++) G.data[i * m + j] /= sum;
  }
  if (hasBackground) {
    const e0 = 1.2 * eMax;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.max(channelEnergy(i), 1e-3);
      const v = (Math.max(e0 - e, 0) / e) * Math.exp(-Math.pow(0.6 / e, 3));
      G.data[i * m + mPeaks] = v;
      sum += v;
    }
    for (let i = 0; i < n; i++) G.data[i * m + mPeaks] /= sum;
  }

  // trueW: distinct owned peaks per component, a few weak shared ones, columns scaled.
  const trueW = zeros(m, k);
  const order = rng.shuffle(Array.from({ length: mPeaks }, (_, j) => j));
  order.forEach((peak, pos) => {
    trueW.data[peak * k + (pos % k)] = 0.2 + rng.gamma(2);
  });
  for (let j = 0; j < mPeaks; j++) {
    for (let c = 0; c < k; c++) {
      const u = rng.uniform();
      if (trueW.data[j * k + c] === 0 && u < 0.15) trueW.data[j * k + c] = 0.3 * rng.gamma(1);
    }
  }
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < mPeaks; j++) s += trueW.data[j * k + c];
    for (let j = 0; j < mPeaks; j++) trueW.data[j * k + c] *= ((1 - bg) * counts) / s;
    if (hasBackground) trueW.data[mPeaks * k + c] = bg * counts;
  }
  const trueD = matmul(G, trueW);

  // trueH: softmax of smoothed, standardised Gaussian random fields.
  const fields: Float64Array[] = [];
  for (let c = 0; c < k; c++) {
    const white = new Float64Array(p);
    for (let i = 0; i < p; i++) white[i] = rng.normal();
    const f = blur(white, shape, smoothness);
    let mean = 0;
    for (let i = 0; i < p; i++) mean += f[i];
    mean /= p;
    let v = 0;
    for (let i = 0; i < p; i++) v += (f[i] - mean) * (f[i] - mean);
    const sd = Math.sqrt(v / p) || 1;
    for (let i = 0; i < p; i++) f[i] = (f[i] - mean) / sd;
    fields.push(f);
  }
  const trueH = zeros(k, p);
  for (let i = 0; i < p; i++) {
    let mx = -Infinity;
    for (let c = 0; c < k; c++) mx = Math.max(mx, sharpness * fields[c][i]);
    let s = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(sharpness * fields[c][i] - mx);
      trueH.data[c * p + i] = e;
      s += e;
    }
    for (let c = 0; c < k; c++) trueH.data[c * p + i] /= s;
  }

  // Counts.
  const Xdot = matmul(trueD, trueH);
  const X = zeros(n, p);
  for (let i = 0; i < n * p; i++) X.data[i] = rng.poisson(Xdot.data[i]);

  return { X, Xdot, G, trueW, trueD, trueH, shape, energy, peakEnergies, hasBackground, k, seed };
}
