/** `webnmf fit`: read the .npy inputs, run fitSmoothNMF, write the results atomically. */
import { fitSmoothNMF } from '../estimator.js';
import { WebnmfError } from '../errors.js';
import { StagedOutputDir } from '../io/atomic.js';
import type { NpyArray } from '../io/npy.js';
import { readNpyFile } from '../io/npy-node.js';
import type { FitResult, SmoothNMFOptions } from '../options.js';
import type { ImageShape, Matrix64 } from '../types.js';
import type { FitArgs } from './args.js';
import { checkOutputDir, resultReport, stageFitArrays, toJson, webnmfVersion } from './outputs.js';
import { fmtNum, fmtRate, fmtSeconds, ProgressBar, type TextSink } from './progress.js';

export interface RunContext {
  stdout: TextSink;
  stderr: TextSink;
  signal: AbortSignal;
}

const inputErr = (msg: string) => new WebnmfError('input', msg);
const fmtShape = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** A 2-D .npy array as a matrix; `role` says what it should be, for the message. */
function asMatrix(arr: NpyArray, file: string, role: string): Matrix64 {
  if (arr.shape.length !== 2) {
    throw inputErr(`${file}: ${role} must be a 2-D array, but the file holds shape ${fmtShape(arr.shape)}. Reshape it in numpy and save again.`);
  }
  return { rows: arr.shape[0]!, cols: arr.shape[1]!, data: arr.data };
}

export interface LoadedData {
  X: Matrix64;
  shape?: ImageShape;
  layout: 'channels×pixels' | 'rows×cols×channels';
  fileShape: number[];
  dtype: string;
}

/** Reads X: 2-D channels × pixels, or 3-D rows × cols × channels (transposed to channels × pixels). */
export function loadData(file: string, shapeFlag?: ImageShape): LoadedData {
  const arr = readNpyFile(file);
  if (arr.shape.length === 2) {
    return { X: asMatrix(arr, file, 'X'), shape: shapeFlag, layout: 'channels×pixels', fileShape: arr.shape, dtype: arr.dtype };
  }
  if (arr.shape.length === 3) {
    const [rows, cols, n] = arr.shape as [number, number, number];
    if (shapeFlag && (shapeFlag.rows !== rows || shapeFlag.cols !== cols)) {
      throw inputErr(
        `${file}: --shape ${shapeFlag.rows}x${shapeFlag.cols} disagrees with the file, which is ${rows} rows × ${cols} cols × ${n} channels. ` +
          'Drop --shape (a 3-D file carries its own shape) or fix it.',
      );
    }
    const p = rows * cols;
    const data = new Float64Array(n * p);
    const src = arr.data;
    for (let pix = 0; pix < p; pix++) {
      const o = pix * n;
      for (let ch = 0; ch < n; ch++) data[ch * p + pix] = src[o + ch]!;
    }
    return { X: { rows: n, cols: p, data }, shape: { rows, cols }, layout: 'rows×cols×channels', fileShape: arr.shape, dtype: arr.dtype };
  }
  throw inputErr(
    `${file}: X must be 2-D (channels × pixels) or 3-D (rows × cols × channels), but the file holds shape ${fmtShape(arr.shape)}. ` +
      'Reshape it in numpy and save again.',
  );
}

/** The options the estimator gets: only what the user set (the estimator owns the defaults). */
function optionsFrom(args: FitArgs): { options: SmoothNMFOptions; inputs: Record<string, unknown> } {
  const options: SmoothNMFOptions = { components: args.components };
  const inputs: Record<string, unknown> = {};
  if (args.w0 !== undefined && args.h0 === undefined) {
    throw inputErr(`--w0 ${args.w0} is given without --h0: a custom start needs both W0 and H0. Add --h0 H0.npy (k × pixels).`);
  }
  if (args.h0 !== undefined && args.w0 === undefined) {
    throw inputErr(`--h0 ${args.h0} is given without --w0: a custom start needs both W0 and H0. Add --w0 W0.npy (m × k).`);
  }
  if (args.init === 'custom' && args.w0 === undefined) {
    throw inputErr('--init custom needs the start: add --w0 W0.npy (m × k) and --h0 H0.npy (k × pixels).');
  }
  if (args.w0 !== undefined && args.init !== undefined && args.init !== 'custom') {
    throw inputErr(`--w0/--h0 give a custom start but --init is '${args.init}'. Use --init custom, or drop --w0/--h0.`);
  }
  if (args.g !== undefined) {
    const g = readNpyFile(args.g);
    options.G = asMatrix(g, args.g, 'G (channels × m)');
    inputs['G'] = { file: args.g, shape: g.shape, dtype: g.dtype };
  }
  if (args.w0 !== undefined && args.h0 !== undefined) {
    const w0 = readNpyFile(args.w0);
    const h0 = readNpyFile(args.h0);
    options.W0 = asMatrix(w0, args.w0, 'W0 (m × k)');
    options.H0 = asMatrix(h0, args.h0, 'H0 (k × pixels)');
    inputs['W0'] = { file: args.w0, shape: w0.shape, dtype: w0.dtype };
    inputs['H0'] = { file: args.h0, shape: h0.shape, dtype: h0.dtype };
  }
  if (args.lambda !== undefined) options.lambda = args.lambda;
  if (args.mu !== undefined) options.mu = args.mu.length === 1 ? args.mu[0]! : args.mu;
  if (args.epsilonReg !== undefined) options.epsilonReg = args.epsilonReg;
  if (args.simplex !== undefined) options.simplex = args.simplex;
  if (args.simplexSolver !== undefined) options.simplexSolver = args.simplexSolver;
  if (args.majorizer !== undefined) options.majorizer = args.majorizer;
  if (args.extrapolation !== undefined) options.extrapolation = args.extrapolation;
  if (args.loss !== undefined) options.loss = args.loss;
  if (args.normalize) options.normalize = true;
  if (args.init !== undefined) options.init = args.init;
  if (args.maxIter !== undefined) options.maxIter = args.maxIter;
  if (args.tol !== undefined) options.tol = args.tol;
  if (args.noStop) options.noStop = true;
  if (args.lossEvery !== undefined) options.lossEvery = args.lossEvery;
  if (args.snapshots !== undefined) options.snapshots = args.snapshots;
  if (args.seed !== undefined) options.seed = args.seed;
  if (args.backend !== undefined) options.backend = args.backend;
  return { options, inputs };
}

/**
 * The documented defaults of SmoothNMFOptions (src/options.ts), used only to write every
 * parameter into report.json; the estimator applies its own.
 */
export function resolvedParameters(o: SmoothNMFOptions) {
  return {
    components: o.components,
    loss: o.loss ?? 'kl',
    lambda: o.lambda ?? 0,
    mu: o.mu ?? 0,
    epsilonReg: o.epsilonReg ?? 1,
    simplex: o.simplex ?? 'none',
    simplexSolver: o.simplexSolver ?? 'exact',
    simplexTol: o.simplexTol ?? 1e-10,
    majorizer: o.majorizer ?? 'espm',
    extrapolation: o.extrapolation ?? 0,
    normalize: o.normalize ?? false,
    init: o.init ?? (o.W0 && o.H0 ? 'custom' : 'nndsvda'),
    maxIter: o.maxIter ?? 200,
    tol: o.tol ?? 1e-4,
    noStop: o.noStop ?? false,
    lossEvery: o.lossEvery ?? 10,
    snapshots: o.snapshots ?? [],
    seed: o.seed ?? 0,
    backend: o.backend ?? 'auto',
    shape: o.shape ?? null,
    G: o.G ? [o.G.rows, o.G.cols] : null,
  };
}

/** Runs the estimator with the progress bar and warnings wired to stderr. */
export async function runFitWithProgress(
  X: Matrix64,
  options: SmoothNMFOptions,
  ctx: RunContext,
  quiet: boolean,
  label: string,
  echoWarnings = true,
): Promise<FitResult> {
  const bar = !quiet && ctx.stderr.isTTY ? new ProgressBar(ctx.stderr, label) : undefined;
  try {
    return await fitSmoothNMF(X, {
      ...options,
      signal: ctx.signal,
      onProgress: bar?.update,
      onWarning: (m) => {
        if (!quiet && echoWarnings) {
          if (bar) bar.finish();
          ctx.stderr.write(`webnmf: warning: ${m}\n`);
        }
      },
    });
  } finally {
    bar?.finish();
  }
}

export async function runFit(args: FitArgs, ctx: RunContext): Promise<number> {
  const t0 = performance.now();
  const out = args.out ?? 'webnmf-out';
  checkOutputDir(out);
  const data = loadData(args.input, args.shape);
  const { options, inputs } = optionsFrom(args);
  if (data.shape) options.shape = data.shape;
  else if ((args.lambda ?? 0) > 0) {
    throw inputErr(
      `--lambda ${args.lambda} (Laplacian smoothness) needs the image shape of the ${data.X.cols} pixels: add --shape ROWSxCOLS ` +
        '(rows × cols = pixels), or give X as a 3-D rows × cols × channels file.',
    );
  }
  const result = await runFitWithProgress(data.X, options, ctx, args.quiet ?? false, 'fit');
  if (ctx.signal.aborted) return abortedExit(ctx);

  const stage = new StagedOutputDir(out);
  try {
    const written = stageFitArrays(stage, result, args.snapshots ?? []);
    const wallSeconds = (performance.now() - t0) / 1000;
    const warnings = [...result.warnings];
    if (written.missingSnapshots.length > 0) {
      warnings.push(
        `snapshots ${written.missingSnapshots.join(', ')} were not written: the fit stopped after ${result.nIter} iterations (${result.stopReason}).`,
      );
    }
    const report = {
      webnmf: { version: webnmfVersion(), command: 'fit' },
      inputs: {
        X: { file: args.input, shape: data.fileShape, dtype: data.dtype, layout: data.layout },
        ...inputs,
      },
      problem: { channels: data.X.rows, pixels: data.X.cols, shape: data.shape ?? null },
      parameters: resolvedParameters(options),
      parametersGiven: Object.fromEntries(Object.entries(args).filter(([k]) => k !== 'input' && k !== 'out' && k !== 'quiet')),
      result: { ...resultReport(result, wallSeconds), warnings },
      outputs: written.files,
    };
    stage.write('report.json', toJson(report));
    stage.commit();
    if (!args.quiet) {
      for (const w of warnings.slice(result.warnings.length)) ctx.stderr.write(`webnmf: warning: ${w}\n`);
      const last = result.losses[result.losses.length - 1];
      ctx.stdout.write(
        `webnmf: ${result.nIter} iterations (${result.stopReason}) in ${fmtSeconds(result.solveSeconds)}` +
          (result.solveSeconds > 0 ? ` (${fmtRate(result.nIter / result.solveSeconds)} it/s)` : '') +
          ` on ${result.backendInfo}; loss ${last ? fmtNum(last.full) : 'n/a'}; wrote ${Object.keys(written.files).length + 1} files to ${out}\n`,
      );
    }
    return 0;
  } catch (e) {
    stage.abort();
    throw e;
  }
}

export function abortedExit(ctx: RunContext): number {
  ctx.stderr.write('webnmf: interrupted: the fit was stopped; nothing was written.\n');
  return 130;
}
