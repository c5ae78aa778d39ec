/**
 * 4-D stacks (z or time): slices × rows × cols × channels.
 *
 *  - per slice: any mode run on each slice on its own (`fitPerSlice`);
 *  - fast multislice (HS-MOSAIC): seeded NNMF on a reference slice gives the spectra D, then
 *    fixed-spectra NNLS of every other slice with D locked (`fitMultislice`). The other slices are
 *    solved in ONE NNLS call: their pixels are concatenated along the pixel axis
 *    (n × (S − 1)·p), so on WebGPU all slices are batched in the same dispatches and chunked over
 *    pixels like one big image.
 */
import type { Cube } from '../io/readers/cube.js';
import type { ImageShape, Matrix, Matrix64 } from '../types.js';
import { input, usage, type FitSummary } from './common.js';
import { fitNNLS, type NNLSFitResult, type NNLSOptions } from './nnls.js';
import { fitPCA, type PCAOptions, type PCAResult } from './pca.js';
import { fitNMF, fitSeededNMF, type ModeFitResult, type NMFOptions, type SeededFitResult, type SeededNMFOptions } from './seeded.js';

/** One slice given as a matrix (channels × pixels) and its image shape. */
export interface SliceInput {
  X: Matrix;
  shape: ImageShape;
}

export interface Stack {
  /** Per slice, channels × pixels (float64). */
  slices: Matrix64[];
  shape: ImageShape;
  channels: number;
}

/** A 4-D cube (readCube's `slices`) or a list of slices, as per-slice channels × pixels matrices. */
export function toStack(source: Cube | readonly SliceInput[]): Stack {
  if (Array.isArray(source)) {
    const list = source as readonly SliceInput[];
    if (list.length === 0) throw input('the stack has no slices: give at least one slice');
    const first = list[0];
    const slices = list.map((s, z) => {
      if (!s || !s.X || !s.shape) throw usage(`stack slice ${z} must be { X: channels × pixels matrix, shape: { rows, cols } }`);
      const { rows, cols } = s.shape;
      if (s.X.cols !== rows * cols) {
        throw input(`stack slice ${z}: shape ${rows} × ${cols} = ${rows * cols} pixels but X has ${s.X.cols} pixels (columns)`);
      }
      if (rows !== first.shape.rows || cols !== first.shape.cols || s.X.rows !== first.X.rows) {
        throw input(
          `stack slice ${z} is ${rows} × ${cols} pixels × ${s.X.rows} channels but slice 0 is ` +
            `${first.shape.rows} × ${first.shape.cols} × ${first.X.rows}: every slice of a 4-D stack must have the same ` +
            'rows, cols and channels. Crop or resample the slices to one shape (or analyse them separately).',
        );
      }
      return s.X.data instanceof Float64Array ? (s.X as Matrix64) : { rows: s.X.rows, cols: s.X.cols, data: Float64Array.from(s.X.data) };
    });
    return { slices, shape: { rows: first.shape.rows, cols: first.shape.cols }, channels: first.X.rows };
  }
  const cube = source as Cube;
  const S = cube.slices ?? 1;
  const { rows, cols, channels: n } = cube;
  const p = rows * cols;
  if (cube.data.length !== S * p * n) {
    throw input(`${cube.source}: the cube holds ${cube.data.length} values but slices × rows × cols × channels = ${S * p * n}`);
  }
  const slices: Matrix64[] = [];
  for (let z = 0; z < S; z++) {
    const data = new Float64Array(n * p);
    const base = z * p * n;
    for (let pix = 0; pix < p; pix++) {
      const o = base + pix * n;
      for (let ch = 0; ch < n; ch++) data[ch * p + pix] = cube.data[o + ch];
    }
    slices.push({ rows: n, cols: p, data });
  }
  return { slices, shape: { rows, cols }, channels: n };
}

export type PerSliceMode =
  | { mode: 'pca'; options: PCAOptions }
  | { mode: 'nmf'; options: NMFOptions }
  | { mode: 'seeded'; options: SeededNMFOptions }
  | { mode: 'nnls'; options: NNLSOptions };

export type PerSliceResult = PCAResult | ModeFitResult | SeededFitResult | NNLSFitResult;

/** Runs one mode on every slice independently. */
export async function fitPerSlice(source: Cube | readonly SliceInput[], spec: PerSliceMode): Promise<PerSliceResult[]> {
  const stack = toStack(source);
  const out: PerSliceResult[] = [];
  for (const X of stack.slices) {
    switch (spec.mode) {
      case 'pca':
        out.push(await fitPCA(X, spec.options));
        break;
      case 'nmf':
        out.push(await fitNMF(X, spec.options));
        break;
      case 'seeded':
        out.push(await fitSeededNMF(X, spec.options));
        break;
      case 'nnls':
        out.push(await fitNNLS(X, spec.options));
        break;
    }
  }
  return out;
}

export interface MultisliceOptions {
  /** Seeded NNMF options for the reference slice (components, spectra, maps, wSeed, …). */
  seeded: SeededNMFOptions;
  /** Index of the reference slice. Default 0. */
  referenceSlice?: number;
  /** Options of the fixed-spectra NNLS on the other slices (spectra come from the reference). */
  nnls?: Omit<NNLSOptions, 'spectra'>;
}

export interface MultisliceResult {
  /** The spectra (n × k) from the reference slice, locked for the others. */
  D: Matrix64;
  /** Maps per slice (k × p each), in slice order (the reference slice's from seeded NNMF). */
  maps: Matrix64[];
  reference: SeededFitResult;
  /** The batched NNLS of the other slices (absent with a single slice). */
  nnls?: NNLSFitResult;
  /** Per slice: iterations (reference: NNMF iterations; others: max over the chunks that touch it). */
  sliceIterations: number[];
  summary: FitSummary;
  warnings: string[];
}

/** Fast multislice: seeded NNMF on the reference slice, fixed-spectra NNLS on all others (batched). */
export async function fitMultislice(source: Cube | readonly SliceInput[], options: MultisliceOptions): Promise<MultisliceResult> {
  const t0 = performance.now();
  const stack = toStack(source);
  const S = stack.slices.length;
  const ref = options.referenceSlice ?? 0;
  if (!Number.isInteger(ref) || ref < 0 || ref >= S) {
    throw usage(`referenceSlice ${ref} is not a slice of this ${S}-slice stack; choose 0 … ${S - 1}`);
  }
  if (!options.seeded) throw usage('fitMultislice: options.seeded (the seeded NNMF options of the reference slice) is required');
  const reference = await fitSeededNMF(stack.slices[ref], options.seeded);
  const D = reference.D;
  const k = D.cols;
  const n = stack.channels;
  const p = stack.shape.rows * stack.shape.cols;
  const others = [...Array(S).keys()].filter((z) => z !== ref);
  const maps: Matrix64[] = new Array(S);
  maps[ref] = reference.H;
  const sliceIterations = new Array<number>(S).fill(0);
  sliceIterations[ref] = reference.summary.iterations;
  const warnings = [...reference.warnings];
  let nnls: NNLSFitResult | undefined;
  if (others.length > 0) {
    const P = others.length * p;
    const data = new Float64Array(n * P);
    others.forEach((z, o) => {
      const src = stack.slices[z].data;
      for (let i = 0; i < n; i++) data.set(src.subarray(i * p, (i + 1) * p), i * P + o * p);
    });
    nnls = await fitNNLS({ rows: n, cols: P, data }, {
      backend: options.seeded.backend,
      signal: options.seeded.signal,
      loss: options.seeded.loss ?? 'frobenius',
      ...options.nnls,
      spectra: D,
    });
    warnings.push(...nnls.warnings);
    const chunkPixels = nnls.chunkPixels ?? options.nnls?.chunkPixels ?? 32768;
    others.forEach((z, o) => {
      const H = new Float64Array(k * p);
      for (let c = 0; c < k; c++) H.set(nnls!.H.data.subarray(c * P + o * p, c * P + (o + 1) * p), c * p);
      maps[z] = { rows: k, cols: p, data: H };
      const ci = nnls!.summary.chunkIterations;
      if (ci) {
        const a = Math.floor((o * p) / chunkPixels);
        const b = Math.floor(((o + 1) * p - 1) / chunkPixels);
        sliceIterations[z] = Math.max(...ci.slice(a, b + 1));
      } else sliceIterations[z] = nnls!.summary.iterations;
    });
  }
  return {
    D,
    maps,
    reference,
    ...(nnls ? { nnls } : {}),
    sliceIterations,
    summary: {
      mode: 'multislice',
      backend: nnls?.summary.backend ?? reference.summary.backend,
      backendInfo: nnls?.summary.backendInfo ?? reference.summary.backendInfo,
      iterations: Math.max(...sliceIterations),
      chunkIterations: nnls?.summary.chunkIterations,
      maxChunkIterations: nnls?.summary.maxChunkIterations,
      converged: reference.summary.converged && (nnls?.summary.converged ?? true),
      finalError:
        (options.seeded.loss ?? 'frobenius') === 'kl'
          ? reference.summary.finalError + (nnls?.summary.finalError ?? 0)
          : Math.hypot(reference.summary.finalError, nnls?.summary.finalError ?? 0),
      stopReason: nnls?.summary.stopReason ?? reference.summary.stopReason,
      seconds: (performance.now() - t0) / 1000,
    },
    warnings,
  };
}
