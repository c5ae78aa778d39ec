/**
 * Binning a spectrum image, and choosing the spatial binning factor from the data.
 *
 * Spatial binning sums the counts of b × b pixel blocks: a sum of independent Poisson counts is
 * Poisson, so the binned cube is a proper Poisson cube with b² times the counts per pixel.
 * Partial edge blocks are CROPPED: the binned image has ⌊rows/b⌋ × ⌊cols/b⌋ complete blocks.
 * (A partial block holds fewer pixels and so fewer expected counts, which a simplex-on-H model with
 * one W for every pixel cannot represent without breaking the Poisson law by rescaling.) The
 * cropped rows/columns (< b of each) are not lost: the upsampled start covers them by edge
 * clamping and the full-resolution fine-tune fits them.
 *
 * Channel binning sums groups of g consecutive channels (the last group may be shorter; it is kept:
 * its counts are still Poisson and the matching row of G is the sum of the same rows, so the model
 * G_b W H stays exact).
 *
 * Choosing b: the block mean  m̂_p = (1/b²) Σ_{q ∈ block(p)} Y_q  estimates the per-pixel intensity
 * m_p = E[Y_p]. Its risk  R(b) = E Σ_p (m̂_p − m_p)²  (bias² from the blur + variance Var(Y)/b²)
 * has an unbiased estimate from the data alone, because Y_p is Poisson (E Y = Var Y = m):
 *   E (m̂_p − Y_p)² = R_p + m_p − 2 Cov(m̂_p, Y_p) = R_p + m_p − 2 m_p / b²
 *   ⇒  R̂_p(b) = (m̂_p − Y_p)² − Y_p + 2 Y_p / b²          (unbiased for R_p).
 * (This is the Poisson unbiased risk estimate in the spirit of ESPM's `estimate_best_binning` and
 * of PURE, Luisier et al. 2011.) Y is the cube aggregated into `bands` contiguous channel bands
 * (sums of counts, still Poisson): NMF pools the spectral information, so the per-channel noise
 * would overstate the variance and over-bin. R̂ is averaged per element over the pixels the b-crop
 * keeps and b minimises it among the factors that leave at least `minBinnedSide` binned pixels on
 * each side.
 */
import { inputError, usageError } from '../errors.js';
import type { ImageShape, Matrix, Matrix64 } from '../types.js';

export interface BinnedCube {
  /** n_b × p_b counts. */
  X: Matrix64;
  shape: ImageShape;
  /** Spatial factor b. */
  b: number;
  /** Channel group size g (1 = none). */
  channelBin: number;
  /** Full-resolution rows/cols dropped by the crop (each < b). */
  croppedRows: number;
  croppedCols: number;
  /** Binned G (n_b × m), or undefined. */
  G?: Matrix64;
}

/** Sums b × b pixel blocks (cropping partial edge blocks) and groups of g channels. */
export function binCube(X: Matrix, shape: ImageShape, b: number, g = 1, G?: Matrix): BinnedCube {
  if (!Number.isInteger(b) || b < 1) throw usageError(`bin factor must be a positive integer, got ${b}`);
  if (!Number.isInteger(g) || g < 1) throw usageError(`channel bin must be a positive integer, got ${g}`);
  const { rows, cols } = shape;
  if (rows * cols !== X.cols) {
    throw inputError(`shape ${rows} × ${cols} = ${rows * cols} pixels does not match X's ${X.cols} pixels (columns)`);
  }
  const R = Math.floor(rows / b);
  const C = Math.floor(cols / b);
  if (R < 1 || C < 1) throw inputError(`bin factor ${b} is larger than the image (${rows} × ${cols}); use a smaller --bin`);
  const n = X.rows;
  const nb = Math.ceil(n / g);
  const pb = R * C;
  const out = new Float64Array(nb * pb);
  const p = X.cols;
  const colBlock = blockIndex(C * b, b);
  for (let i = 0; i < n; i++) {
    const orow = Math.floor(i / g) * pb;
    for (let r = 0; r < R * b; r++) addBlockRow(X.data, i * p + r * cols, out, orow + Math.floor(r / b) * C, colBlock);
  }
  let Gb: Matrix64 | undefined;
  if (G) {
    const m = G.cols;
    const gd = new Float64Array(nb * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) gd[Math.floor(i / g) * m + j] += G.data[i * m + j];
    Gb = { rows: nb, cols: m, data: gd };
  }
  return {
    X: { rows: nb, cols: pb, data: out },
    shape: { rows: R, cols: C },
    b,
    channelBin: g,
    croppedRows: rows - R * b,
    croppedCols: cols - C * b,
    G: Gb,
  };
}

/** c ↦ ⌊c / b⌋ for c < len: the block column of each kept pixel column. */
function blockIndex(len: number, b: number): Int32Array {
  const out = new Int32Array(len);
  for (let c = 0; c < len; c++) out[c] = Math.floor(c / b);
  return out;
}

/**
 * out[o + colBlock[c]] += x[xr + c] over one image row of one channel, zeros skipped (most of an
 * EDX cube; adding 0 changes no sum, so the result is the plain loop's bit for bit). A function of
 * its own so that V8 optimises it whole: binning a 128 × 128 × 1024 cube went from 180 ms to
 * about 40 in the loop written inline.
 */
function addBlockRow(x: ArrayLike<number>, xr: number, out: Float64Array, o: number, colBlock: Int32Array): void {
  for (let c = 0; c < colBlock.length; c++) {
    const v = x[xr + c];
    if (v !== 0) out[o + colBlock[c]] += v;
  }
}

export interface BinChoice {
  /** The chosen factor. */
  b: number;
  /** Why: 'auto' (risk minimum), 'given' (--bin) or 'too-small' (image too small to bin). */
  reason: 'auto' | 'given' | 'too-small';
  /** Unbiased risk estimate per element, for each factor tried (b = 1 first). */
  curve: { b: number; risk: number }[];
  /** A sentence for the report and the CLI. */
  message: string;
}

export interface ChooseBinOptions {
  /** Largest factor tried. Default 8. */
  maxBin?: number;
  /** Smallest binned side (rows and cols) allowed. Default 8. */
  minBinnedSide?: number;
  /** Channel bands the risk is computed on. Default 16. */
  bands?: number;
}

/** Aggregates X (n × p) into q contiguous channel bands (q × p sums). */
function bandSums(X: Matrix, q: number): Float64Array {
  const n = X.rows;
  const p = X.cols;
  const out = new Float64Array(q * p);
  for (let i = 0; i < n; i++) addRow(X.data, i * p, out, Math.min(q - 1, Math.floor((i * q) / n)) * p, p);
  return out;
}

/** out[o + j] += x[xr + j] for j < p, zeros skipped (see addBlockRow). */
function addRow(x: ArrayLike<number>, xr: number, out: Float64Array, o: number, p: number): void {
  for (let j = 0; j < p; j++) {
    const v = x[xr + j];
    if (v !== 0) out[o + j] += v;
  }
}

/** R̂(b) per element (see the file comment), over the pixels the b-crop keeps. */
export function binningRisk(Y: Float64Array, q: number, shape: ImageShape, b: number): number {
  const { rows, cols } = shape;
  const p = rows * cols;
  const R = Math.floor(rows / b);
  const C = Math.floor(cols / b);
  const inv = 1 / (b * b);
  let risk = 0;
  const block = new Float64Array(R * C);
  const colBlock = blockIndex(C * b, b);
  for (let t = 0; t < q; t++) {
    block.fill(0);
    const o = t * p;
    for (let r = 0; r < R * b; r++) addBlockRow(Y, o + r * cols, block, Math.floor(r / b) * C, colBlock);
    for (let r = 0; r < R * b; r++) risk = addRowRisk(Y, o + r * cols, block, Math.floor(r / b) * C, colBlock, inv, risk);
  }
  return risk / (q * R * b * C * b);
}

/** risk + Σ over one image row of R̂'s terms (see the file comment); a function of its own, see addBlockRow. */
function addRowRisk(Y: Float64Array, yr: number, block: Float64Array, o: number, colBlock: Int32Array, inv: number, risk: number): number {
  for (let c = 0; c < colBlock.length; c++) {
    const y = Y[yr + c];
    const d = block[o + colBlock[c]] * inv - y;
    risk += d * d - y + 2 * y * inv;
  }
  return risk;
}

/**
 * Chooses the spatial bin factor: `given` when set (checked against the image), otherwise the
 * minimiser of the unbiased Poisson risk. Images too small to bin (fewer than 2 · minBinnedSide
 * pixels on a side) get b = 1 with a message saying so.
 */
export function chooseBin(X: Matrix, shape: ImageShape, given: number | undefined, opts: ChooseBinOptions = {}): BinChoice {
  const minSide = opts.minBinnedSide ?? 8;
  const maxBin = opts.maxBin ?? 8;
  const { rows, cols } = shape;
  const largest = Math.min(maxBin, Math.floor(Math.min(rows, cols) / minSide));
  if (given !== undefined) {
    if (!Number.isInteger(given) || given < 1) throw usageError(`--bin must be a positive integer, got ${given}`);
    if (given > 1 && (Math.floor(rows / given) < 2 || Math.floor(cols / given) < 2)) {
      throw inputError(
        `--bin ${given} leaves fewer than 2 binned pixels on a side of the ${rows} × ${cols} image; give a smaller --bin (at most ${Math.max(1, Math.floor(Math.min(rows, cols) / 2))})`,
      );
    }
    return { b: given, reason: 'given', curve: [], message: `bin factor ${given} (given)` };
  }
  if (largest < 2) {
    return {
      b: 1,
      reason: 'too-small',
      curve: [],
      message: `the ${rows} × ${cols} image is too small to bin (a binned image needs at least ${minSide} pixels on each side, so at least ${2 * minSide} × ${2 * minSide} pixels for b = 2); tuning runs at full resolution (b = 1)`,
    };
  }
  const q = Math.min(opts.bands ?? 16, X.rows);
  const Y = bandSums(X, q);
  const curve: { b: number; risk: number }[] = [];
  for (let b = 1; b <= largest; b++) curve.push({ b, risk: binningRisk(Y, q, shape, b) });
  let best = curve[0];
  for (const c of curve) if (c.risk < best.risk) best = c;
  return {
    b: best.b,
    reason: 'auto',
    curve,
    message: `bin factor ${best.b} chosen by the unbiased Poisson risk of the block mean (factors 1–${largest} tried)`,
  };
}

/**
 * Bilinear upsampling of binned maps (k × R·C, block centres at full-resolution coordinates
 * b·i + (b − 1)/2) to the full image (k × rows·cols), clamped at the edges (which also covers the
 * cropped remainder). Bilinear weights are convex, so columns that sum to 1 still do; the result
 * is re-projected onto the simplex by clamping at `floor` and dividing each column by its sum.
 */
export function upsampleMaps(Hb: Matrix, binned: ImageShape, b: number, full: ImageShape, floor: number): Matrix64 {
  const k = Hb.rows;
  const { rows: R, cols: C } = binned;
  const { rows, cols } = full;
  const p = rows * cols;
  const pb = R * C;
  const out = new Float64Array(k * p);
  const coord = (x: number, N: number) => {
    const t = Math.min(Math.max((x - (b - 1) / 2) / b, 0), N - 1);
    const i0 = Math.min(Math.floor(t), N - 1);
    const i1 = Math.min(i0 + 1, N - 1);
    return { i0, i1, w: t - i0 };
  };
  const cs = Array.from({ length: cols }, (_, c) => coord(c, C));
  for (let r = 0; r < rows; r++) {
    const { i0: r0, i1: r1, w: wr } = coord(r, R);
    for (let c = 0; c < cols; c++) {
      const { i0: c0, i1: c1, w: wc } = cs[c];
      let sum = 0;
      for (let q = 0; q < k; q++) {
        const h = Hb.data;
        const o = q * pb;
        const v =
          (1 - wr) * ((1 - wc) * h[o + r0 * C + c0] + wc * h[o + r0 * C + c1]) + wr * ((1 - wc) * h[o + r1 * C + c0] + wc * h[o + r1 * C + c1]);
        const vv = Math.max(v, floor);
        out[q * p + r * cols + c] = vv;
        sum += vv;
      }
      for (let q = 0; q < k; q++) out[q * p + r * cols + c] /= sum;
    }
  }
  return { rows: k, cols: p, data: out };
}

/**
 * The full-resolution start for the maps: the mean of the upsampled binned maps (smooth, the
 * binned fit's large-scale solution) and the per-pixel least-squares maps for the binned fit's
 * spectra (rough, each pixel's own data). Both are on the simplex, so the mean is. Why not the
 * upsampled maps alone: the fine-tune from them crawls through its last 1e-4 of relative loss
 * (the per-pixel detail the block means smoothed away is slow to grow back under multiplicative
 * updates); from the mean it converges 2–5× sooner (bench/results …-auto-evidence.md, "start").
 */
export function blendedStart(up: Matrix64, ls: Matrix64, floor: number): Matrix64 {
  if (up.rows !== ls.rows || up.cols !== ls.cols) throw usageError(`blendedStart: maps of ${up.rows} × ${up.cols} and ${ls.rows} × ${ls.cols}`);
  const k = up.rows;
  const p = up.cols;
  const out = new Float64Array(k * p);
  for (let j = 0; j < p; j++) {
    let sum = 0;
    for (let q = 0; q < k; q++) sum += out[q * p + j] = Math.max(0.5 * (up.data[q * p + j] + ls.data[q * p + j]), floor);
    for (let q = 0; q < k; q++) out[q * p + j] /= sum;
  }
  return { rows: k, cols: p, data: out };
}
