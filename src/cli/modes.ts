/**
 * `webnmf pca | nnls | nmf | seeded`: HS-MOSAIC's analysis modes on the command line. Each reads
 * X (.npy 2-D channels × pixels or 3-D rows × cols × channels, or any cube readCube reads,
 * including 4-D stacks), runs the mode, and writes .npy arrays plus report.json atomically
 * (nothing appears unless everything was written), like `webnmf fit`.
 */
import * as path from 'node:path';
import { WebnmfError } from '../errors.js';
import { StagedOutputDir } from '../io/atomic.js';
import { encodeNpy } from '../io/npy.js';
import { readNpyFile } from '../io/npy-node.js';
import { readCubeFile } from '../io/readers/node.js';
import type { FitSummary } from '../modes/common.js';
import { fitNNLS, type NNLSOptions } from '../modes/nnls.js';
import { fitPCA, type PCAOptions } from '../modes/pca.js';
import { fitNMF, fitSeededNMF, W_SEED_MODES, type GaussianPeak, type SeededNMFOptions, type SpectrumSeed } from '../modes/seeded.js';
import { fitMultislice, toStack, type Stack } from '../modes/stack.js';
import type { ImageShape, Matrix64 } from '../types.js';
import { flagLines, parseFlags, type FlagSpec } from './args.js';
import type { RunContext } from './fit.js';
import { checkOutputDir, toJson, webnmfVersion } from './outputs.js';
import { fmtNum, fmtSeconds } from './progress.js';

export const MODE_COMMANDS: ReadonlySet<string> = new Set(['pca', 'nnls', 'nmf', 'seeded']);

const inputErr = (m: string) => new WebnmfError('input', m);
const usageErr = (m: string) => new WebnmfError('usage', m);

const backendFlag: FlagSpec = {
  name: 'backend',
  key: 'backend',
  type: { kind: 'enum', values: ['cpu', 'webgpu', 'auto'] },
  help: "where to compute: 'cpu' (float64 reference), 'webgpu' or 'auto'. Default auto",
};
const common = (outDefault: string): FlagSpec[] => [
  backendFlag,
  { name: 'out', key: 'out', type: { kind: 'string', metavar: 'DIR' }, help: `output directory. Default ${outDefault}` },
  { name: 'quiet', key: 'quiet', type: { kind: 'bool' }, help: 'print nothing but errors' },
  { name: 'help', key: 'help', type: { kind: 'bool' }, help: 'show this help' },
];
const components: FlagSpec = { name: 'components', key: 'components', type: { kind: 'int', metavar: 'K', min: 1 }, help: 'number of components k (required)' };
const shapeFlag: FlagSpec = {
  name: 'shape',
  key: 'shape',
  type: { kind: 'shape', metavar: 'ROWSxCOLS' },
  help: 'image shape of a 2-D channels × pixels X (recorded in the report)',
};
const nmfFlags: FlagSpec[] = [
  { name: 'loss', key: 'loss', type: { kind: 'enum', values: ['frobenius', 'kl'] }, help: 'Frobenius (default) or KL (Poisson)' },
  { name: 'max-iter', key: 'maxIter', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'iteration cap. Default 1000' },
  { name: 'tol', key: 'tol', type: { kind: 'number', metavar: 'T', min: 0 }, help: 'relative error improvement between samples to stop at. Default 1e-4' },
  { name: 'loss-every', key: 'lossEvery', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'sample the error every N iterations. Default 10' },
  { name: 'patience', key: 'patience', type: { kind: 'int', metavar: 'P', min: 1 }, help: 'consecutive samples under --tol before stopping. Default 1' },
  {
    name: 'stopping',
    key: 'stopping',
    type: { kind: 'enum', values: ['sampled', 'espm'] },
    help: "'sampled' (HS-MOSAIC's rule, default) or 'espm' (the engine's rule of webnmf fit)",
  },
  { name: 'seed', key: 'seed', type: { kind: 'int', metavar: 'S', min: 0 }, help: 'seed of the random start / fallback. Default 0' },
];

export const MODE_FLAGS: Record<string, FlagSpec[]> = {
  pca: [
    components,
    { name: 'scaling', key: 'scaling', type: { kind: 'enum', values: ['standardize', 'poisson', 'none'] }, help: 'channel standardisation (default), Poisson (Keenan–Kotula) or none' },
    { name: 'no-center', key: 'noCenter', type: { kind: 'bool' }, help: "do not subtract the channel means (with --scaling poisson|none; HyperSpy's default)" },
    { name: 'method', key: 'method', type: { kind: 'enum', values: ['auto', 'exact', 'randomized'] }, help: 'exact eigendecomposition (CPU) or randomized. Default auto' },
    { name: 'seed', key: 'seed', type: { kind: 'int', metavar: 'S', min: 0 }, help: 'seed of the randomized sketch. Default 0' },
    shapeFlag,
    ...common('webnmf-pca'),
  ],
  nnls: [
    { name: 'spectra', key: 'spectra', type: { kind: 'string', metavar: 'D.npy' }, help: 'the locked spectra, channels × k (or one spectrum, 1-D) (required)' },
    { name: 'loss', key: 'loss', type: { kind: 'enum', values: ['frobenius', 'kl'] }, help: 'least squares (default) or KL (Poisson, multiplicative updates)' },
    { name: 'solver', key: 'solver', type: { kind: 'enum', values: ['auto', 'active-set', 'fista'] }, help: 'active set (CPU, exact) or FISTA. Default: active set on the CPU, FISTA on WebGPU' },
    { name: 'no-restart', key: 'noRestart', type: { kind: 'bool' }, help: 'FISTA without adaptive restart' },
    { name: 'tol', key: 'tol', type: { kind: 'number', metavar: 'T', min: 0 }, help: 'FISTA: ‖ΔA‖/‖A‖ per chunk; KL: relative error improvement. Default 1e-4' },
    { name: 'max-iter', key: 'maxIter', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'iteration cap. Default 1000' },
    { name: 'check-every', key: 'checkEvery', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'convergence check every N iterations. Default 10' },
    { name: 'chunk-pixels', key: 'chunkPixels', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'pixels per FISTA chunk. Default 32768' },
    shapeFlag,
    ...common('webnmf-nnls'),
  ],
  nmf: [
    components,
    { name: 'init', key: 'init', type: { kind: 'enum', values: ['random', 'nndsvda', 'nndsvd', 'nndsvdar'] }, help: 'start. Default random' },
    ...nmfFlags,
    shapeFlag,
    ...common('webnmf-nmf'),
  ],
  seeded: [
    components,
    { name: 'spectra', key: 'spectra', type: { kind: 'string', metavar: 'D0.npy' }, help: 'seed spectra, channels × j (j ≤ k; 1-D for one): components 0 … j−1' },
    {
      name: 'gaussians',
      key: 'gaussians',
      type: { kind: 'string', metavar: 'C:W[:A][+C:W[:A]],...' },
      help: 'Gaussian resonance seeds (centre:width[:amplitude], + joins peaks of one component, commas separate components), after --spectra',
    },
    { name: 'axis', key: 'axis', type: { kind: 'numberList', metavar: 'OFFSET,SCALE', min: -Infinity }, help: 'channel axis of the Gaussian centres: ν_j = OFFSET + j·SCALE. Default 0,1' },
    { name: 'maps', key: 'maps', type: { kind: 'string', metavar: 'H0.npy' }, help: 'seed maps, j × pixels (j ≤ k) or j × rows × cols: components 0 … j−1' },
    { name: 'w-seed', key: 'wSeed', type: { kind: 'enum', values: [...W_SEED_MODES] }, help: 'how maps are built from spectra. Default nnls' },
    { name: 'overwrite-maps', key: 'overwriteMaps', type: { kind: 'bool' }, help: 'rebuild given maps from the spectra with --w-seed' },
    ...nmfFlags,
    { name: 'per-slice', key: 'perSlice', type: { kind: 'bool' }, help: '4-D input: seeded NNMF on every slice (default: fast multislice)' },
    { name: 'reference-slice', key: 'referenceSlice', type: { kind: 'int', metavar: 'Z', min: 0 }, help: '4-D fast multislice: the slice fitted by seeded NNMF. Default 0' },
    shapeFlag,
    ...common('webnmf-seeded'),
  ],
};

const USAGE: Record<string, string> = {
  pca: 'webnmf pca X.npy --components K [options]',
  nnls: 'webnmf nnls X.npy --spectra D.npy [options]',
  nmf: 'webnmf nmf X.npy --components K [options]',
  seeded: 'webnmf seeded X.npy --components K [--spectra D0.npy] [--gaussians ...] [--maps H0.npy] [options]',
};
const ABOUT: Record<string, string> = {
  pca: 'PCA on channel-standardised (or Poisson-scaled) data. Writes loadings.npy (channels × k), scores.npy\n(k × pixels), explained_variance.npy, explained_variance_ratio.npy, scree.npy (exact method) and report.json.',
  nnls: 'Fixed-spectra unmixing: maps H ≥ 0 minimising ‖X − D H‖² (or KL) with D locked. Writes H.npy (k × pixels;\nslices × k × pixels for a 4-D stack, all slices batched), D.npy and report.json (per-chunk iterations).',
  nmf: 'Random NNMF (Frobenius or KL) with the sampled-error stopping rule. Writes D.npy (spectra, channels × k),\nH.npy (maps, k × pixels) and report.json.',
  seeded:
    'Seeded NNMF: spectra from --spectra/--gaussians (missing ones from the residual fallback), maps from --maps or\n' +
    'built by --w-seed, then both refined. A 4-D stack runs fast multislice (seeded NNMF on --reference-slice,\n' +
    'fixed-spectra NNLS on all other slices, batched). Writes D.npy, H.npy, D0.npy, H0.npy and report.json.',
};

export function modeHelp(cmd: string): string {
  return `Usage: ${USAGE[cmd]}\n\n${ABOUT[cmd]}\nX: .npy (2-D channels × pixels, 3-D rows × cols × channels, 4-D slices × rows × cols × channels) or any\nformat webnmf reads (.hspy, .emd, .rpl, .tif).\n\nOptions:\n${flagLines(MODE_FLAGS[cmd]!)}\n`;
}

interface Loaded {
  /** 2-D/3-D data: one slice; 4-D: several. */
  stack: Stack;
  fileShape: number[];
  layout: string;
}

async function loadInput(file: string, shape?: ImageShape): Promise<Loaded> {
  if (path.extname(file).toLowerCase() === '.npy') {
    const arr = readNpyFile(file);
    if (arr.shape.length === 2) {
      const [n, p] = arr.shape as [number, number];
      if (shape && shape.rows * shape.cols !== p) {
        throw inputErr(`${file}: --shape ${shape.rows}x${shape.cols} = ${shape.rows * shape.cols} pixels but X has ${p} pixels (columns). Fix --shape.`);
      }
      const s = shape ?? { rows: 1, cols: p };
      return { stack: { slices: [{ rows: n, cols: p, data: Float64Array.from(arr.data) }], shape: s, channels: n }, fileShape: arr.shape, layout: 'channels×pixels' };
    }
  }
  const cube = await readCubeFile(file);
  const stack = toStack(cube);
  return {
    stack,
    fileShape: cube.slices ? [cube.slices, cube.rows, cube.cols, cube.channels] : [cube.rows, cube.cols, cube.channels],
    layout: cube.slices ? 'slices×rows×cols×channels' : 'rows×cols×channels',
  };
}

/** A 1-D or 2-D .npy as channels × j spectra. */
function loadSpectra(file: string, channels: number, flag: string): Matrix64 {
  const arr = readNpyFile(file);
  if (arr.shape.length === 1) return { rows: arr.shape[0]!, cols: 1, data: Float64Array.from(arr.data) };
  if (arr.shape.length !== 2) {
    throw inputErr(`${flag} ${file}: spectra must be 1-D (one spectrum) or 2-D channels × k, but the file holds shape (${arr.shape.join(', ')}).`);
  }
  const [r, c] = arr.shape as [number, number];
  if (r !== channels && c === channels) {
    throw inputErr(
      `${flag} ${file}: the spectra are ${r} × ${c}, i.e. components × channels, but webnmf expects channels × components ` +
        `(${channels} × ${r}). Save the transpose (numpy: np.save(file, D.T)).`,
    );
  }
  return { rows: r, cols: c, data: Float64Array.from(arr.data) };
}

/** "16:3.5:100+30:2,20:3.5" → one seed per comma-separated component. */
export function parseGaussians(text: string): SpectrumSeed[] {
  return text.split(',').map((comp, c) => {
    const peaks: GaussianPeak[] = comp.split('+').map((pk) => {
      const parts = pk.split(':').map((s) => s.trim());
      const nums = parts.map(Number);
      if ((parts.length !== 2 && parts.length !== 3) || nums.some((v) => !Number.isFinite(v)) || parts.some((s) => s === '')) {
        throw usageErr(`--gaussians: component ${c}: '${pk}' is not CENTRE:WIDTH[:AMPLITUDE] (numbers), e.g. 2930:12:1.5`);
      }
      return { centre: nums[0]!, width: nums[1]!, ...(parts.length === 3 ? { amplitude: nums[2]! } : {}) };
    });
    return peaks.length === 1 ? peaks[0]! : { gaussians: peaks };
  });
}

function mat3(m: Matrix64): { shape: number[]; data: Float64Array } {
  return { shape: [m.rows, m.cols], data: m.data };
}

function stackMaps(maps: Matrix64[]): { shape: number[]; data: Float64Array } {
  if (maps.length === 1) return mat3(maps[0]!);
  const { rows, cols } = maps[0]!;
  const data = new Float64Array(maps.length * rows * cols);
  maps.forEach((m, z) => data.set(m.data, z * rows * cols));
  return { shape: [maps.length, rows, cols], data };
}

function summaryLine(s: FitSummary): string {
  const it = s.chunkIterations ? `max ${s.maxChunkIterations} iterations over ${s.chunkIterations.length} chunk(s)` : `${s.iterations} iterations`;
  return `${s.mode}: ${it} (${s.stopReason}) in ${fmtSeconds(s.seconds)} on ${s.backendInfo}; final error ${fmtNum(s.finalError)}`;
}

/** Parses and runs one mode command; returns the exit status. */
export async function runModeCommand(cmd: string, argv: readonly string[], ctx: RunContext): Promise<number> {
  const { values, positional } = parseFlags(argv, MODE_FLAGS[cmd]!, cmd);
  if (values['help']) {
    ctx.stdout.write(modeHelp(cmd));
    return 0;
  }
  if (positional.length !== 1) {
    throw usageErr(positional.length === 0 ? `'webnmf ${cmd}' needs the data file: ${USAGE[cmd]}.` : `'webnmf ${cmd}' takes one data file, got ${positional.length}.`);
  }
  const a = values as Record<string, never> & Record<string, unknown>;
  if (cmd !== 'nnls' && a['components'] === undefined) throw usageErr('--components K is required (the number of components).');
  if (cmd === 'nnls' && a['spectra'] === undefined) throw usageErr('--spectra D.npy is required (the locked spectra, channels × k).');
  const t0 = performance.now();
  const input = positional[0]!;
  const out = (a['out'] as string | undefined) ?? `webnmf-${cmd}`;
  checkOutputDir(out);
  const quiet = (a['quiet'] as boolean | undefined) ?? false;
  const data = await loadInput(input, a['shape'] as ImageShape | undefined);
  const { stack } = data;
  const n = stack.channels;
  const backend = a['backend'] as 'cpu' | 'webgpu' | 'auto' | undefined;
  const warnings: string[] = [];
  const onWarning = (m: string) => {
    warnings.push(m);
    if (!quiet) ctx.stderr.write(`webnmf: warning: ${m}\n`);
  };
  const files: Record<string, { shape: number[]; data: ArrayLike<number> }> = {};
  let summary: FitSummary;
  let extra: Record<string, unknown> = {};
  const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));

  if (cmd === 'pca') {
    if (stack.slices.length > 1) throw inputErr(`${input}: PCA takes one image; this is a ${stack.slices.length}-slice stack. Save one slice (X[z]) and run PCA on it.`);
    const opts: PCAOptions = {
      components: a['components'] as number,
      ...pick('scaling', 'method', 'seed'),
      ...(a['noCenter'] ? { center: false } : {}),
      ...(backend ? { backend } : {}),
      signal: ctx.signal,
      onWarning,
    };
    const r = await fitPCA(stack.slices[0]!, opts);
    files['loadings.npy'] = mat3(r.loadings);
    files['scores.npy'] = mat3(r.scores);
    files['explained_variance.npy'] = { shape: [r.explainedVariance.length], data: r.explainedVariance };
    files['explained_variance_ratio.npy'] = { shape: [r.explainedVarianceRatio.length], data: r.explainedVarianceRatio };
    if (r.scree) files['scree.npy'] = { shape: [r.scree.length], data: r.scree };
    summary = r.summary;
    extra = { method: r.method, scaling: r.scaling, totalVariance: r.totalVariance, explainedVarianceRatio: Array.from(r.explainedVarianceRatio) };
  } else if (cmd === 'nnls') {
    const D = loadSpectra(a['spectra'] as string, n, '--spectra');
    const S = stack.slices.length;
    const p = stack.slices[0]!.cols;
    let X = stack.slices[0]!;
    if (S > 1) {
      // all slices batched: one NNLS over the concatenated pixel axis
      const data = new Float64Array(n * S * p);
      stack.slices.forEach((sl, z) => {
        for (let i = 0; i < n; i++) data.set(sl.data.subarray(i * p, (i + 1) * p), i * S * p + z * p);
      });
      X = { rows: n, cols: S * p, data };
    }
    const opts: NNLSOptions = {
      spectra: D,
      ...pick('loss', 'solver', 'tol', 'maxIter', 'checkEvery', 'chunkPixels'),
      ...(a['noRestart'] ? { restart: false } : {}),
      ...(backend ? { backend } : {}),
      signal: ctx.signal,
      onWarning,
    };
    const r = await fitNNLS(X, opts);
    const k = D.cols;
    const maps: Matrix64[] = [];
    for (let z = 0; z < S; z++) {
      const H = new Float64Array(k * p);
      for (let c = 0; c < k; c++) H.set(r.H.data.subarray(c * S * p + z * p, c * S * p + (z + 1) * p), c * p);
      maps.push({ rows: k, cols: p, data: H });
    }
    files['H.npy'] = stackMaps(maps);
    files['D.npy'] = mat3(r.D);
    summary = r.summary;
    extra = { solver: r.solver, slices: S };
  } else if (cmd === 'nmf') {
    if (stack.slices.length > 1) throw inputErr(`${input}: 'webnmf nmf' takes one image; for a 4-D stack use 'webnmf seeded' (fast multislice) or run each slice.`);
    const r = await fitNMF(stack.slices[0]!, {
      components: a['components'] as number,
      ...pick('loss', 'maxIter', 'tol', 'lossEvery', 'patience', 'stopping', 'seed', 'init'),
      ...(backend ? { backend } : {}),
      signal: ctx.signal,
      onWarning,
    });
    files['D.npy'] = mat3(r.D);
    files['H.npy'] = mat3(r.H);
    summary = r.summary;
    extra = { errors: r.errors };
  } else {
    const k = a['components'] as number;
    const seeds: SpectrumSeed[] = [];
    if (a['spectra'] !== undefined) {
      const D0 = loadSpectra(a['spectra'] as string, n, '--spectra');
      if (D0.rows !== n) {
        throw inputErr(`--spectra ${a['spectra']}: the spectra have ${D0.rows} channels but X has ${n}: resample them to the data's channel axis.`);
      }
      for (let c = 0; c < D0.cols; c++) seeds.push(Float64Array.from({ length: n }, (_, i) => D0.data[i * D0.cols + c]));
    }
    if (a['gaussians'] !== undefined) seeds.push(...parseGaussians(a['gaussians'] as string));
    let maps: Float64Array[] | undefined;
    if (a['maps'] !== undefined) {
      const m = readNpyFile(a['maps'] as string);
      const p = stack.slices[0]!.cols;
      const j = m.shape[0]!;
      const per = m.data.length / Math.max(j, 1);
      if ((m.shape.length !== 2 && m.shape.length !== 3) || per !== p) {
        throw inputErr(`--maps ${a['maps']}: maps must be j × pixels or j × rows × cols with ${p} pixels each; the file holds shape (${m.shape.join(', ')}).`);
      }
      maps = Array.from({ length: j }, (_, c) => Float64Array.from({ length: p }, (_, q) => m.data[c * p + q]!));
    }
    const axis = a['axis'] as number[] | undefined;
    if (axis && axis.length !== 2) throw usageErr(`--axis takes OFFSET,SCALE (two numbers), got ${axis.length}`);
    const opts: SeededNMFOptions = {
      components: k,
      ...(seeds.length ? { spectra: seeds } : {}),
      ...(maps ? { maps } : {}),
      ...(axis ? { axis: { offset: axis[0]!, scale: axis[1]! } } : {}),
      ...pick('wSeed', 'overwriteMaps', 'loss', 'maxIter', 'tol', 'lossEvery', 'patience', 'stopping', 'seed'),
      ...(backend ? { backend } : {}),
      signal: ctx.signal,
      onWarning,
    };
    if (stack.slices.length === 1) {
      const r = await fitSeededNMF(stack.slices[0]!, opts);
      files['D.npy'] = mat3(r.D);
      files['H.npy'] = mat3(r.H);
      files['D0.npy'] = mat3(r.D0);
      files['H0.npy'] = mat3(r.H0);
      summary = r.summary;
      extra = { spectrumSources: r.spectrumSources, mapSources: r.mapSources, errors: r.errors };
    } else if (a['perSlice']) {
      const rs = [];
      for (const X of stack.slices) rs.push(await fitSeededNMF(X, opts));
      files['D.npy'] = { shape: [rs.length, n, k], data: Float64Array.from(rs.flatMap((r) => Array.from(r.D.data))) };
      files['H.npy'] = stackMaps(rs.map((r) => r.H));
      summary = { ...rs[0]!.summary, iterations: Math.max(...rs.map((r) => r.summary.iterations)), seconds: (performance.now() - t0) / 1000 };
      extra = { perSlice: rs.map((r) => r.summary) };
    } else {
      const r = await fitMultislice(stack.slices.map((X) => ({ X, shape: stack.shape })), {
        seeded: opts,
        ...(a['referenceSlice'] !== undefined ? { referenceSlice: a['referenceSlice'] as number } : {}),
      });
      files['D.npy'] = mat3(r.D);
      files['H.npy'] = stackMaps(r.maps);
      files['D0.npy'] = mat3(r.reference.D0);
      files['H0.npy'] = mat3(r.reference.H0);
      summary = r.summary;
      extra = { sliceIterations: r.sliceIterations, reference: r.reference.summary, spectrumSources: r.reference.spectrumSources };
    }
  }
  if (ctx.signal.aborted) {
    ctx.stderr.write('webnmf: interrupted: the fit was stopped; nothing was written.\n');
    return 130;
  }
  const stage = new StagedOutputDir(out);
  try {
    const written: Record<string, number[]> = {};
    for (const [name, arr] of Object.entries(files)) {
      stage.write(name, encodeNpy(arr, { dtype: 'float64' }));
      written[name] = arr.shape;
    }
    const report = {
      webnmf: { version: webnmfVersion(), command: cmd },
      inputs: { X: { file: input, shape: data.fileShape, layout: data.layout } },
      problem: { channels: n, pixels: stack.slices[0]!.cols, slices: stack.slices.length, shape: stack.shape },
      parametersGiven: Object.fromEntries(Object.entries(a).filter(([k2]) => k2 !== 'out' && k2 !== 'quiet')),
      result: { summary, ...extra, wallSeconds: (performance.now() - t0) / 1000, warnings },
      outputs: written,
    };
    stage.write('report.json', toJson(report));
    stage.commit();
  } catch (e) {
    stage.abort();
    throw e;
  }
  if (!quiet) ctx.stdout.write(`webnmf: ${summaryLine(summary)}; wrote ${Object.keys(files).length + 1} files to ${out}\n`);
  return 0;
}
