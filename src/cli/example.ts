/** `webnmf example`: fit the built-in synthetic dataset and draw the result next to the truth. */
import { StagedOutputDir } from '../io/atomic.js';
import { encodeNpy } from '../io/npy.js';
import { mapPngs, mapsFromMatrix, mosaicPng } from '../io/png.js';
import { spectraSvg, type Curve } from '../io/plot.js';
import { compareToTruth } from '../metrics.js';
import type { SmoothNMFOptions } from '../options.js';
import { makeSyntheticDataset, type SyntheticOptions } from '../synth.js';
import type { Matrix64 } from '../types.js';
import type { ExampleArgs } from './args.js';
import { abortedExit, resolvedParameters, runFitWithProgress, type RunContext } from './fit.js';
import { checkOutputDir, resultReport, stageFitArrays, toJson, webnmfVersion } from './outputs.js';
import { fmtRate, fmtSeconds } from './progress.js';

/**
 * Small enough for a few seconds on the CPU backend of a 2-core machine (the float64 reference
 * runs ~60 it/s at 32 × 32 × 200 and ~15 it/s at 64 × 64 × 200); large enough to show the maps.
 */
export const EXAMPLE_DATA: SyntheticOptions = { rows: 32, cols: 32, channels: 200, k: 3, countsPerPixel: 300, smoothness: 4, background: 0.1, seed: 0 };
export const EXAMPLE_FIT = { lambda: 2, mu: 0.05, simplex: 'h', normalize: true, maxIter: 300, tol: 1e-6, lossEvery: 10 } as const;

const column = (M: Matrix64, j: number) => Float64Array.from({ length: M.rows }, (_, i) => M.data[i * M.cols + j]!);
const rowsOf = (M: Matrix64, order: readonly number[]): Matrix64 => {
  const data = new Float64Array(order.length * M.cols);
  order.forEach((r, i) => data.set(M.data.subarray(r * M.cols, (r + 1) * M.cols), i * M.cols));
  return { rows: order.length, cols: M.cols, data };
};

export async function runExample(args: ExampleArgs, ctx: RunContext): Promise<number> {
  const t0 = performance.now();
  const out = args.out ?? 'webnmf-example';
  const quiet = args.quiet ?? false;
  checkOutputDir(out);
  const ds = makeSyntheticDataset(EXAMPLE_DATA);
  const options: SmoothNMFOptions = {
    components: ds.k,
    G: ds.G,
    shape: ds.shape,
    ...EXAMPLE_FIT,
    ...(args.backend ? { backend: args.backend } : {}),
  };
  if (!quiet) {
    ctx.stdout.write(
      `webnmf example: ${ds.shape.rows}×${ds.shape.cols} pixels, ${ds.X.rows} channels, ${ds.k} phases, ` +
        `Poisson counts (~${EXAMPLE_DATA.countsPerPixel} per pixel); SmoothNMF λ=${EXAMPLE_FIT.lambda}, μ=${EXAMPLE_FIT.mu}, simplex on H\n`,
    );
  }
  // Warnings (e.g. all-zero channels) go to report.json only.
  const result = await runFitWithProgress(ds.X, options, ctx, quiet, 'example', false);
  if (ctx.signal.aborted) return abortedExit(ctx);

  const cmp = compareToTruth({ trueD: ds.trueD, D: result.D, trueH: ds.trueH, H: result.H });
  // Fitted components in the order of the true ones they match (unmatched ones last).
  const order = [...cmp.permutation.filter((j) => j >= 0), ...cmp.unmatchedFitted];
  const Hm = rowsOf(result.H, order);

  const stage = new StagedOutputDir(out);
  try {
    stage.write('X.npy', encodeNpy({ shape: [ds.X.rows, ds.X.cols], data: ds.X.data }));
    stage.write('G.npy', encodeNpy({ shape: [ds.G.rows, ds.G.cols], data: ds.G.data }));
    const written = stageFitArrays(stage, result, []);
    const maps = mapsFromMatrix(Hm, ds.shape);
    stage.write('maps.png', mosaicPng(maps));
    stage.write('maps_true.png', mosaicPng(mapsFromMatrix(ds.trueH, ds.shape)));
    mapPngs(maps).forEach((png, i) => stage.write(`map_${i}.png`, png));
    const curves: Curve[] = [];
    order.forEach((j, i) => curves.push({ label: `fitted ${i}`, values: column(result.D, j), colorIndex: i }));
    for (let i = 0; i < ds.k; i++) curves.push({ label: `true ${i}`, values: column(ds.trueD, i), colorIndex: i, dashed: true });
    stage.write(
      'spectra.svg',
      spectraSvg(curves, { title: 'Component spectra D = GW: fitted (solid) and true (dashed)', energy: ds.energy, yLabel: 'Counts per channel' }),
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    const report = {
      webnmf: { version: webnmfVersion(), command: 'example' },
      dataset: { generator: 'makeSyntheticDataset', options: EXAMPLE_DATA, channels: ds.X.rows, pixels: ds.X.cols, shape: ds.shape, energy: ds.energy },
      parameters: resolvedParameters(options),
      result: resultReport(result, wallSeconds),
      comparison: {
        matchedFittedComponent: cmp.permutation,
        spectralAngleDeg: cmp.angles,
        mapMse: cmp.mse,
        mapR2: cmp.r2,
        meanSpectralAngleDeg: cmp.meanAngle,
        meanMapMse: cmp.meanMse,
        meanMapR2: cmp.meanR2,
      },
      outputs: written.files,
    };
    stage.write('report.json', toJson(report));
    stage.commit();
  } catch (e) {
    stage.abort();
    throw e;
  }
  if (!quiet) {
    const w = ctx.stdout;
    w.write(
      `fit: ${result.nIter} iterations (${result.stopReason}) in ${fmtSeconds(result.solveSeconds)}` +
        (result.solveSeconds > 0 ? ` (${fmtRate(result.nIter / result.solveSeconds)} it/s)` : '') +
        ` on ${result.backendInfo}\n`,
    );
    w.write('phase  fitted  spectral angle  map MSE     map R²\n');
    for (let i = 0; i < ds.k; i++) {
      w.write(
        `${String(i).padStart(5)}  ${String(cmp.permutation[i]).padStart(6)}  ${(cmp.angles[i]!.toFixed(2) + '°').padStart(14)}  ` +
          `${cmp.mse[i]!.toExponential(2).padEnd(10)}  ${cmp.r2[i]!.toFixed(3)}\n`,
      );
    }
    if (result.warnings.length > 0) w.write(`${result.warnings.length} warning(s) from the fit, listed in report.json\n`);
    w.write(`wrote X.npy G.npy W.npy H.npy D.npy maps.png maps_true.png map_0..${ds.k - 1}.png spectra.svg report.json to ${out}\n`);
  }
  return 0;
}
