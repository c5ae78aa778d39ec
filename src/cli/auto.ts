/** `webnmf auto`: bin, choose λ/μ (and k) by count splitting, upsample, fine-tune; write atomically. */
import { autoFit, LAMBDA_BIN_EXPONENT, type AutoFitOptions, type AutoFitResult } from '../auto/index.js';
import { WebnmfError } from '../errors.js';
import { StagedOutputDir } from '../io/atomic.js';
import { encodeNpy } from '../io/npy.js';
import { readNpyFile } from '../io/npy-node.js';
import type { Matrix, Matrix64 } from '../types.js';
import type { AutoArgs } from './args.js';
import { abortedExit, loadData, type RunContext } from './fit.js';
import { checkOutputDir, toJson, webnmfVersion } from './outputs.js';
import { fmtNum, fmtSeconds } from './progress.js';

const inputErr = (msg: string) => new WebnmfError('input', msg);

function readG(file: string): Matrix64 {
  const g = readNpyFile(file);
  if (g.shape.length !== 2) {
    throw inputErr(`${file}: G (channels × m) must be a 2-D array, but the file holds shape (${g.shape.join(', ')}). Reshape it in numpy and save again.`);
  }
  return { rows: g.shape[0]!, cols: g.shape[1]!, data: g.data };
}

/** The report.json body of an auto run (exported for tests). */
export function autoReport(r: AutoFitResult) {
  return {
    chosen: { bin: r.bin.b, channelBin: r.bin.channelBin, startBin: r.startBin, k: r.k, lambda: r.lambda, mu: r.mu, lambdaBinned: r.lambdaBinned },
    rules: {
      bin: 'sum of b × b pixel blocks; partial edge blocks cropped; b minimises the unbiased Poisson risk of the block mean on 16 channel bands unless given',
      rescale: `lambda_full = b^${LAMBDA_BIN_EXPONENT} * lambda_binned; mu_full = mu_binned (b^2 from the geometry: the normalised data term and the log penalty are per-pixel sums, the 2-D Laplacian energy of smooth maps is resolution-free; the map-optimal normalised lambda falls with the counts per pixel, which binning multiplies by b^2, and the exponent ${LAMBDA_BIN_EXPONENT} was chosen end to end on 18 generator data sets: src/auto/index.ts)`,
      score: 'count splitting A ~ Binomial(X_b, 1/2), B = X_b - A; fit on one half (scaled by the whole binned cube factor), generalised KL deviance of the other half per held-out count, summed over both directions of each split',
      k: 'smallest k whose best score is within one standard error (paired per-pixel deviance differences) of the best k',
      fineTune: 'stops when the mean relative loss change per iteration since the previous sample (every 10 iterations), relative to the start loss, is below tol',
    },
    bin: r.bin,
    validation: r.validation,
    kSelection: r.kSelection,
    stages: r.stages,
    losses: r.losses,
    binnedLosses: r.binnedLosses,
    normFactor: r.normFactor,
    backend: r.backend,
    backendInfo: r.backendInfo,
    warnings: r.warnings,
  };
}

export async function runAuto(args: AutoArgs, ctx: RunContext): Promise<number> {
  const t0 = performance.now();
  const out = args.out ?? 'webnmf-auto';
  checkOutputDir(out);
  const data = loadData(args.input, args.shape);
  if (!data.shape) {
    throw inputErr(
      `'webnmf auto' needs the image shape of the ${data.X.cols} pixels (binning and λ act on the image): add --shape ROWSxCOLS, or give X as a 3-D rows × cols × channels file.`,
    );
  }
  const quiet = args.quiet ?? false;
  const options: AutoFitOptions = {
    components: args.components,
    shape: data.shape,
    signal: ctx.signal,
    onStage: quiet ? undefined : (p) => ctx.stderr.write(`webnmf auto: [${p.stage}] ${p.message}\n`),
    onWarning: quiet ? undefined : (m) => ctx.stderr.write(`webnmf: warning: ${m}\n`),
  };
  if (args.g !== undefined) options.G = readG(args.g);
  if (args.bin !== undefined) options.bin = args.bin;
  if (args.channelBin !== undefined) options.channelBin = args.channelBin;
  if (args.startBin !== undefined) options.startBin = args.startBin;
  if (args.lambdas !== undefined) options.lambdas = args.lambdas;
  if (args.mus !== undefined) options.mus = args.mus;
  if (args.noRefine) options.refine = false;
  if (args.weightRule !== undefined) options.weightRule = args.weightRule;
  if (args.splits !== undefined) options.splits = args.splits;
  if (args.tuneMaxIter !== undefined) options.tuneMaxIter = args.tuneMaxIter;
  if (args.epsilonReg !== undefined) options.epsilonReg = args.epsilonReg;
  if (args.majorizer !== undefined) options.majorizer = args.majorizer;
  if (args.extrapolation !== undefined) options.extrapolation = args.extrapolation;
  if (args.maxIter !== undefined) options.maxIter = args.maxIter;
  if (args.tol !== undefined) options.tol = args.tol;
  if (args.seed !== undefined) options.seed = args.seed;
  if (args.backend !== undefined) options.backend = args.backend;
  const result = await autoFit(data.X, options);
  if (ctx.signal.aborted) return abortedExit(ctx);

  const stage = new StagedOutputDir(out);
  try {
    const files: Record<string, number[]> = {};
    const put = (name: string, m: Matrix) => {
      stage.write(name, encodeNpy({ shape: [m.rows, m.cols], data: m.data }, { dtype: 'float64' }));
      files[name] = [m.rows, m.cols];
    };
    put('W.npy', result.W);
    put('H.npy', result.H);
    put('D.npy', result.D);
    const report = {
      webnmf: { version: webnmfVersion(), command: 'auto' },
      inputs: { X: { file: args.input, shape: data.fileShape, dtype: data.dtype, layout: data.layout }, G: args.g ?? null },
      problem: { channels: data.X.rows, pixels: data.X.cols, shape: data.shape },
      parametersGiven: Object.fromEntries(Object.entries(args).filter(([k]) => k !== 'input' && k !== 'out' && k !== 'quiet')),
      ...autoReport(result),
      wallSeconds: (performance.now() - t0) / 1000,
      outputs: files,
    };
    stage.write('report.json', toJson(report));
    stage.commit();
    if (!quiet) {
      const s = result.stages;
      ctx.stdout.write(
        `webnmf auto: bin ${result.bin.b}, k = ${result.k}, λ = ${fmtNum(result.lambda)} (binned ${fmtNum(result.lambdaBinned)}), μ = ${fmtNum(result.mu)}; ` +
          `${s.tune.candidates} candidates in ${fmtSeconds(s.tune.seconds)}, binned fit ${s.binnedFit.iterations} it, fine-tune ${s.fineTune.iterations} it (${s.fineTune.stopReason ?? 'skipped'}); ` +
          `total ${fmtSeconds(s.total.seconds)} on ${result.backendInfo}; wrote ${Object.keys(files).length + 1} files to ${out}\n`,
      );
    }
    return 0;
  } catch (e) {
    stage.abort();
    throw e;
  }
}
