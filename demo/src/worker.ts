/**
 * The solver worker: reads files (the readers and h5wasm are loaded lazily, on the first file of
 * their format), holds the data matrix, and runs the fits, so the page never freezes. WebGPU is
 * used from here when the browser exposes it to workers (navigator.gpu); otherwise the library
 * falls back to its float64 CPU reference, which yields between loss samples so Cancel is seen.
 */
import { fitSmoothNMF } from '../../src/estimator.js';
import { compareToTruth } from '../../src/metrics.js';
import type { SmoothNMFOptions } from '../../src/options.js';
import { makeSyntheticDataset } from '../../src/synth.js';
import type { ImageShape, Matrix, Matrix64 } from '../../src/types.js';
import { hasNpyMagic, parseNpy } from '../../src/io/npy.js';
import type { AuxInfo, DatasetInfo, FromWorker, LoadSpec, ResultData, ToWorker } from './protocol.js';
import { candidateKs, type Mode, type Params } from './state.js';
import { MAX_FILE_BYTES, sizeLimitMessage } from './limits.js';
import { npyImage, npyMatrix, npyOverview } from './npy-image.js';

type ModesModule = typeof import('../../src/modes/index.js');

// Optional library parts, present or not depending on the build (src/auto, src/modes).
const autoModule = import.meta.glob('../../src/auto/index.ts');
const modesModule = import.meta.glob('../../src/modes/index.ts');

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

interface Dataset {
  /** ESPM's X (channels × pixels); built from the cube on first use (the overview does not need it). */
  X: Matrix;
  shape: ImageShape;
  /** The sum image and mean spectrum, when the reader computed them from the cube directly. */
  overview?: { sumImage: Float32Array; meanSpectrum: Float64Array };
  info: DatasetInfo;
  truth?: { trueD: Matrix64; trueH: Matrix64 };
  exampleG?: Matrix64;
}

let data: Dataset | undefined;
let fileG: { m: Matrix64; name: string } | undefined;
let seeds: { m: Matrix64; name: string } | undefined;
const running = new Map<number, AbortController>();

const ext = (name: string) => {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i + 1).toLowerCase() : '';
};
/** The message; for an unexpected error (a bug, not a WebnmfError about the input) also where it came from. */
const messageOf = (e: unknown) => {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'WebnmfError' || e.name === 'Error' || !e.stack) return e.message;
  const at = e.stack.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
  return `${e.message} (internal error ${e.name}${at ? `, ${at}` : ''})`;
};

// ------------------------------------------------------------------------------------------
// Loading
// ------------------------------------------------------------------------------------------

async function bytesOf(file: File): Promise<Uint8Array> {
  if (file.size > MAX_FILE_BYTES) throw new Error(sizeLimitMessage(file.name, file.size));
  return new Uint8Array(await file.arrayBuffer());
}

async function loadFiles(spec: Extract<LoadSpec, { kind: 'files' }>): Promise<Dataset> {
  const files = spec.files;
  if (files.length === 0) throw new Error('no file was given');
  const rpl = files.find((f) => ext(f.name) === 'rpl');
  const raw = files.find((f) => ext(f.name) === 'raw');
  if (raw && !rpl) {
    throw new Error(`${raw.name} is the binary half of a Lispix ripple pair: drop it together with its .rpl header (select both files).`);
  }
  if (rpl && !raw) {
    throw new Error(`${rpl.name} is a Lispix ripple header: drop it together with its .raw binary (select both files).`);
  }
  const main = rpl ?? files[0]!;
  const head = new Uint8Array(await main.slice(0, 4096).arrayBuffer());
  if (!rpl && hasNpyMagic(head)) return loadNpy(main, spec);
  // The readers (geotiff, the HDF5 glue; h5wasm itself loads on the first HDF5 file) are a lazy chunk.
  const readers = await import('../../src/io/readers/index.js');
  // HDF5 (.hspy, .emd) is read in place through a WORKERFS mount, TIFF stacks page by page: no
  // copy of the file in memory, so the byte limit does not apply to the file, only to the cube
  // that is read from it.
  const inPlace = readers.readsInPlace(head, main.name);
  const bytes = inPlace ? head : await bytesOf(main);
  const cubeLimit = (size: number) => {
    if (size > MAX_FILE_BYTES) throw new Error(sizeLimitMessage(`${main.name} (its cube)`, size));
  };
  const cube = inPlace
    ? await readers.readCubeFromFile(main, { checkCubeBytes: cubeLimit }) // TIFF: refused before the cube is allocated
    : await readers.readCube(bytes, main.name, raw ? { raw: await bytesOf(raw), rawName: raw.name } : {});
  cubeLimit(cube.data.byteLength);
  let slice: number | undefined;
  if ((cube.slices ?? 1) > 1) slice = Math.min(Math.max(0, spec.slice ?? 0), cube.slices! - 1);
  const shape = { rows: cube.rows, cols: cube.cols };
  const meta = cube.metadata as { format?: string; dtype?: string } | undefined;
  let X: Matrix | undefined;
  return {
    // The transposition to channels × pixels waits for the first fit: the overview reads the cube.
    get X() {
      X ??= readers.cubeToMatrix(cube, slice !== undefined ? { slice } : {}).X;
      return X;
    },
    shape,
    overview: cubeOverview(cube, slice ?? 0),
    info: {
      source: rpl ? `${rpl.name} + ${raw!.name}` : main.name,
      format: [meta?.format ?? readers.sniffFormat(bytes, main.name), meta?.dtype].filter(Boolean).join(' '),
      rows: shape.rows,
      cols: shape.cols,
      channels: cube.channels,
      ...(cube.slices !== undefined ? { slices: cube.slices, slice } : {}),
      signalAxis: cube.signalAxis,
      navigationAxes: cube.navigationAxes,
      fileBytes: main.size + (raw?.size ?? 0),
      ...(cube.title ? { title: cube.title } : {}),
      isExample: false,
    },
  };
}

/**
 * A .npy, read in place: the overview is one pass over the file's own values (no float64 copy,
 * no readers chunk to load), and X is gathered from them when the first fit asks for it.
 */
async function loadNpy(file: File, spec: Extract<LoadSpec, { kind: 'files' }>): Promise<Dataset> {
  const img = npyImage(await bytesOf(file), file.name, spec.shape);
  if (img.values.byteLength > MAX_FILE_BYTES) throw new Error(sizeLimitMessage(`${file.name} (its values as float64)`, img.values.byteLength));
  const slice = img.slices !== undefined ? Math.min(Math.max(0, spec.slice ?? 0), img.slices - 1) : undefined;
  let source: typeof img | undefined = img;
  let X: Matrix | undefined;
  return {
    get X() {
      if (!X) {
        X = npyMatrix(source!, slice);
        source = undefined; // X holds what the fits need; the file's bytes can go.
      }
      return X;
    },
    shape: { rows: img.rows, cols: img.cols },
    overview: npyOverview(img, slice),
    info: {
      source: file.name,
      format: img.format,
      rows: img.rows,
      cols: img.cols,
      channels: img.channels,
      ...(img.slices !== undefined ? { slices: img.slices, slice } : {}),
      signalAxis: img.signalAxis,
      navigationAxes: img.navigationAxes,
      fileBytes: file.size,
      isExample: false,
    },
  };
}

function loadExample(seed: number): Dataset {
  const ds = makeSyntheticDataset({ rows: 64, cols: 64, channels: 200, k: 3, seed });
  return {
    X: ds.X,
    shape: ds.shape,
    truth: { trueD: ds.trueD, trueH: ds.trueH },
    exampleG: ds.G,
    info: {
      source: `example (synthetic EDX, 3 phases, seed ${seed})`,
      format: 'makeSyntheticDataset',
      rows: ds.shape.rows,
      cols: ds.shape.cols,
      channels: ds.X.rows,
      signalAxis: { name: 'Energy', size: ds.X.rows, offset: ds.energy.offset, scale: ds.energy.scale, units: ds.energy.units, navigate: false },
      navigationAxes: [
        { name: 'y', size: ds.shape.rows, offset: 0, scale: 1, units: 'px', navigate: true },
        { name: 'x', size: ds.shape.cols, offset: 0, scale: 1, units: 'px', navigate: true },
      ],
      fileBytes: 0,
      title: 'Synthetic EDX spectrum image with a known answer',
      isExample: true,
    },
  };
}

/** The overview of a cube (slices × rows × cols × channels, pixel-major). */
function cubeOverview(cube: { data: Float32Array | Float64Array; rows: number; cols: number; channels: number }, slice: number) {
  const { rows, cols, channels: n } = cube;
  return npyOverview({ values: cube.data, rows, cols, channels: n, strides: { slice: rows * cols * n, row: cols * n, col: n, channel: 1 } }, slice);
}

/** The sum image (counts per pixel) and the mean spectrum of X (channels × pixels): the first thing shown after loading. */
function overview(X: Matrix, shape: ImageShape) {
  const { rows, cols } = shape;
  return npyOverview({ values: X.data, rows, cols, channels: X.rows, strides: { slice: 0, row: cols, col: 1, channel: X.cols } });
}

async function load(spec: LoadSpec): Promise<void> {
  const t0 = performance.now();
  const d = spec.kind === 'example' ? loadExample(spec.seed) : await loadFiles(spec);
  const t1 = performance.now();
  const warnings: string[] = [];
  const { sumImage, meanSpectrum } = d.overview ?? overview(d.X, d.shape);
  let negatives = 0;
  for (let i = 0; i < sumImage.length; i++) if (sumImage[i]! < 0) negatives++;
  if (negatives > 0) warnings.push(`${negatives} pixels have a negative sum (NMF needs counts ≥ 0); the fits will reject negative values: subtract less background or clip at 0 first.`);
  d.overview = undefined;
  data = d;
  // Spectra loaded for other data stay only while their channels match.
  const auxDropped: ('G' | 'seeds')[] = [];
  if (fileG && fileG.m.rows !== d.info.channels) (fileG = undefined), auxDropped.push('G');
  if (seeds && seeds.m.rows !== d.info.channels) (seeds = undefined), auxDropped.push('seeds');
  post({ type: 'loaded', info: d.info, sumImage, meanSpectrum, ms: { read: t1 - t0, prepare: performance.now() - t1 }, warnings, auxDropped }, [sumImage.buffer, meanSpectrum.buffer]);
}

/** G or seed spectra: .npy (2-D) or CSV, channels × columns (transposed automatically when that is the only fit). */
async function loadAux(kind: 'G' | 'seeds', file: File): Promise<AuxInfo> {
  const bytes = await bytesOf(file);
  let rows: number;
  let cols: number;
  let values: Float64Array;
  if (bytes[0] === 0x93) {
    const a = parseNpy(bytes, file.name);
    if (a.shape.length === 1) [rows, cols] = [a.shape[0]!, 1];
    else if (a.shape.length === 2) [rows, cols] = a.shape as [number, number];
    else throw new Error(`${file.name}: spectra must be a 2-D array (channels × spectra); this one has shape (${a.shape.join(', ')})`);
    values = a.data;
  } else {
    const lines = new TextDecoder().decode(bytes).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
    const table = lines.map((l) => l.split(/[,;\t ]+/).map(Number));
    if (table.length > 0 && table[0]!.some((v) => Number.isNaN(v))) table.shift(); // a header line
    if (table.length === 0) throw new Error(`${file.name}: no numbers found; give a .npy or a CSV of channels × spectra`);
    cols = table[0]!.length;
    const badRow = table.findIndex((r) => r.length !== cols || r.some((v) => !Number.isFinite(v)));
    if (badRow >= 0) throw new Error(`${file.name}: line ${badRow + 1} of the numbers does not hold ${cols} finite values`);
    rows = table.length;
    values = Float64Array.from(table.flat());
  }
  let note: string | undefined;
  const n = data?.info.channels;
  if (n !== undefined && rows !== n && cols === n) {
    const t = new Float64Array(values.length);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = values[i * cols + j]!;
    values = t;
    [rows, cols] = [cols, rows];
    note = 'transposed to channels × spectra';
  }
  if (n !== undefined && rows !== n) throw new Error(`${file.name}: ${rows} × ${cols} spectra do not match the data's ${n} channels`);
  if (values.some((v) => v < 0)) throw new Error(`${file.name}: spectra must be ≥ 0`);
  const m: Matrix64 = { rows, cols, data: values };
  if (kind === 'G') fileG = { m, name: file.name };
  else seeds = { m, name: file.name };
  return { kind, name: file.name, rows, cols, ...(note ? { note } : {}) };
}

// ------------------------------------------------------------------------------------------
// Running
// ------------------------------------------------------------------------------------------

function pickG(p: Params): { G?: Matrix64; label: string } {
  if (!p.useG) return { label: 'none' };
  if (fileG) return { G: fileG.m, label: `${fileG.name} (${fileG.m.rows} × ${fileG.m.cols})` };
  if (data?.exampleG) return { G: data.exampleG, label: `example G (${data.exampleG.cols} peaks)` };
  throw new Error('"use known spectra G" is on but no G is loaded: load a G file (channels × lines) or turn the option off');
}

async function run(id: number, mode: Mode, p: Params): Promise<void> {
  if (!data) throw new Error('load data first (a file or the example)');
  const d = data;
  const ac = new AbortController();
  running.set(id, ac);
  const t0 = performance.now();
  const warnings: string[] = [];
  const common = {
    signal: ac.signal,
    backend: p.backend,
    seed: p.seed,
    lossEvery: p.lossEvery,
    onWarning: (m: string) => warnings.push(m),
    onProgress: (q: { iteration: number; maxIter: number; loss: number; rate: number }) =>
      post({ type: 'progress', id, iteration: q.iteration, maxIter: q.maxIter, loss: q.loss, rate: q.rate }),
  };
  let result: Omit<ResultData, 'truth' | 'seconds'> & { seconds?: ResultData['seconds'] };
  try {
    if (mode === 'smooth' || mode === 'plain') {
      const g = pickG(p);
      const opts: SmoothNMFOptions =
        mode === 'smooth'
          ? { ...common, components: p.k, lambda: p.lambda, mu: p.mu, epsilonReg: p.epsilonReg, simplex: p.simplex, majorizer: p.majorizer, shape: d.shape, maxIter: p.maxIter, tol: p.tol, normalize: p.normalize, ...(g.G ? { G: g.G } : {}) }
          : { ...common, components: p.k, loss: p.loss, maxIter: p.maxIter, tol: p.tol, normalize: p.normalize && p.loss === 'kl', ...(g.G && p.loss === 'kl' ? { G: g.G } : {}) };
      const r = await fitSmoothNMF(d.X, opts);
      result = {
        id, mode, k: p.k, H: r.H.data, D: r.D.data, channels: r.D.rows, losses: r.losses, nIter: r.nIter, stopReason: r.stopReason,
        backend: r.backend, backendInfo: r.backendInfo, warnings: r.warnings,
        used: mode === 'smooth'
          ? { lambda: p.lambda, mu: p.mu, simplex: p.simplex, G: g.label, normalize: p.normalize }
          : { loss: p.loss, G: p.loss === 'kl' ? g.label : 'none', normalize: opts.normalize },
        seconds: { solve: r.solveSeconds, total: r.totalSeconds, wall: 0 },
      };
    } else if (mode === 'auto') {
      const loader = Object.values(autoModule)[0];
      if (!loader) throw new Error('Auto is not available in this build: the library has no src/auto (autoFit).');
      const { autoFit } = (await loader()) as typeof import('../../src/auto/index.js');
      const g = pickG(p);
      const ks = candidateKs(p);
      const r = await autoFit(d.X, {
        components: ks.length === 1 ? ks[0]! : ks,
        shape: d.shape,
        ...(g.G ? { G: g.G } : {}),
        ...(p.bin > 0 ? { bin: p.bin } : {}),
        maxIter: p.maxIter,
        tol: p.tol,
        lossEvery: p.lossEvery,
        seed: p.seed,
        backend: p.backend,
        signal: ac.signal,
        onStage: (s) => post({ type: 'stage', id, message: `${s.stage}: ${s.message}` }),
        onWarning: (m) => warnings.push(m),
      });
      const st = r.stages;
      result = {
        id, mode, k: r.k, H: r.H.data, D: r.D.data, channels: r.D.rows, losses: r.losses, nIter: r.losses.at(-1)?.iteration ?? 0,
        stopReason: st.fineTune.stopReason ?? 'done', backend: r.backend, backendInfo: r.backendInfo, warnings: r.warnings,
        used: { lambda: r.lambda, mu: r.mu, simplex: 'h', G: g.label, normalize: true },
        seconds: { solve: st.fineTune.seconds, total: st.total.seconds, wall: 0 },
        auto: {
          validation: r.validation.map((c) => ({ k: c.k, lambdaBinned: c.lambdaBinned, lambdaFull: c.lambdaFull, mu: c.mu, score: c.score, round: c.round })),
          bin: `${r.bin.b} × ${r.bin.b} (binned ${r.bin.binnedShape.rows} × ${r.bin.binnedShape.cols})`,
          lambdaBinned: r.lambdaBinned,
          stages: { bin: st.bin.seconds, tune: st.tune.seconds, 'binned fit': st.binnedFit.seconds, upsample: st.upsample.seconds, 'fine-tune': st.fineTune.seconds, total: st.total.seconds },
        },
      };
    } else {
      const loader = Object.values(modesModule)[0];
      if (!loader) throw new Error(`${mode} is not available in this build: the library has no src/modes.`);
      if ((mode === 'seeded' || mode === 'nnls') && !seeds) throw new Error('load the spectra first (seed / fixed spectra file, channels × k)');
      result = await runModesModule((await loader()) as ModesModule, id, mode, p, d, common);
    }
  } finally {
    running.delete(id);
  }
  let truth: ResultData['truth'];
  if (d.truth && result.D.length > 0 && result.mode !== 'pca') {
    const c = compareToTruth({
      trueD: d.truth.trueD,
      D: { rows: result.channels, cols: result.k, data: result.D },
      trueH: d.truth.trueH,
      H: { rows: result.k, cols: d.X.cols, data: result.H },
    });
    truth = { meanAngle: c.meanAngle, meanR2: c.meanR2, angles: c.angles, r2: c.r2 };
  }
  const seconds = { ...(result.seconds ?? { solve: 0, total: 0 }), wall: (performance.now() - t0) / 1000 };
  const full: ResultData = { ...result, seconds, ...(truth ? { truth } : {}) };
  post({ type: 'result', result: full }, [full.H.buffer, full.D.buffer]);
}

/** PCA, fixed-spectra NNLS and seeded NMF from src/modes (HS-MOSAIC's modes on webnmf's engine). */
async function runModesModule(
  mod: ModesModule,
  id: number,
  mode: Mode,
  p: Params,
  d: Dataset,
  common: { signal: AbortSignal; backend: Params['backend']; seed: number; lossEvery: number; onWarning: (m: string) => void; onProgress: (q: { iteration: number; maxIter: number; loss: number; rate: number }) => void },
): Promise<Omit<ResultData, 'truth'>> {
  const t0 = performance.now();
  const base = { id, mode, channels: d.X.rows };
  const secs = (s: number) => ({ solve: s, total: (performance.now() - t0) / 1000, wall: 0 });
  if (mode === 'pca') {
    const r = await mod.fitPCA(d.X, { components: p.k, seed: p.seed, backend: p.backend, signal: common.signal, onWarning: common.onWarning });
    return {
      ...base, k: r.scores.rows, H: r.scores.data, D: r.loadings.data, losses: [], nIter: 0, stopReason: 'done',
      backend: r.summary.backend, backendInfo: r.summary.backendInfo, warnings: r.warnings,
      used: { scaling: r.scaling, method: r.method },
      seconds: secs(r.summary.seconds),
      pca: { explained: Array.from(r.explainedVarianceRatio), ...(r.scree ? { scree: Array.from(r.scree, (v) => v / r.totalVariance) } : {}) },
    };
  }
  const spectra = seeds!.m;
  if (mode === 'nnls') {
    const tStart = performance.now();
    const r = await mod.fitNNLS(d.X, {
      spectra, loss: p.loss, maxIter: p.maxIter, tol: p.tol, backend: p.backend, signal: common.signal, onWarning: common.onWarning,
      onProgress: (q) => common.onProgress({ iteration: q.done, maxIter: q.total, loss: NaN, rate: q.done / Math.max(1e-9, (performance.now() - tStart) / 1000) }),
    });
    return {
      ...base, k: r.H.rows, H: r.H.data, D: r.D.data, losses: [], nIter: r.summary.iterations, stopReason: r.summary.converged ? 'converged' : 'max_iter',
      backend: r.summary.backend, backendInfo: r.summary.backendInfo, warnings: r.warnings,
      used: { loss: p.loss, spectra: `${seeds!.name} (${spectra.cols} fixed)`, solver: r.solver, error: r.summary.finalError },
      seconds: secs(r.summary.seconds),
    };
  }
  const r = await mod.fitSeededNMF(d.X, {
    components: spectra.cols, spectra, loss: p.loss, maxIter: p.maxIter, tol: p.tol, lossEvery: p.lossEvery, seed: p.seed,
    backend: p.backend, signal: common.signal, onWarning: common.onWarning, onProgress: common.onProgress,
  });
  return {
    ...base, k: r.H.rows, H: r.H.data, D: r.D.data, losses: r.errors.map((e) => ({ iteration: e.iteration, full: e.error })),
    nIter: r.summary.iterations, stopReason: r.summary.stopReason,
    backend: r.summary.backend, backendInfo: r.summary.backendInfo, warnings: r.warnings,
    used: { loss: p.loss, spectra: `${seeds!.name} (${spectra.cols} seeds: ${r.spectrumSources.join(', ')})`, error: r.summary.finalError },
    seconds: secs(r.summary.seconds),
  };
}

// ------------------------------------------------------------------------------------------

async function probe(): Promise<void> {
  const gpu = await import('../../src/gpu/index.js');
  const r = await gpu.webgpuAvailable();
  post({ type: 'backend', ok: r.ok, ...(r.adapterInfo ? { info: r.adapterInfo } : {}), ...(r.reason ? { reason: r.reason } : {}) });
}

scope.onmessage = (e) => {
  const m = e.data;
  const fail = (context: 'load' | 'aux' | 'run' | 'probe', id?: number) => (err: unknown) =>
    post({ type: 'error', context, ...(id !== undefined ? { id } : {}), message: messageOf(err) });
  switch (m.type) {
    case 'probe':
      probe().catch(fail('probe'));
      break;
    case 'load':
      load(m.spec).catch(fail('load'));
      break;
    case 'aux':
      loadAux(m.kind, m.file).then((aux) => post({ type: 'aux-loaded', aux }), fail('aux'));
      break;
    case 'run':
      run(m.id, m.mode, m.params).catch((err) => {
        const aborted = err instanceof Error && (err.name === 'AbortError' || /abort/i.test(err.message));
        if (aborted) post({ type: 'cancelled', id: m.id, message: messageOf(err) });
        else fail('run', m.id)(err);
      });
      break;
    case 'cancel':
      running.get(m.id)?.abort(new Error('cancelled by the user'));
      break;
  }
};
