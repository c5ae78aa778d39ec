/**
 * HyperSpy HDF5 files (.hspy, and .hdf5 from HyperSpy < 1.2), file format versions 1.x–3.x.
 *
 * Layout: root attributes file_format = "HyperSpy", file_format_version; one group per signal
 * under `Experiments/<name>/` holding `data` (the array, navigation axes first, signal axes
 * last, in C order), `axis-0 … axis-(n-1)` groups (one per array dimension, in array order) with
 * attributes name, size, offset, scale, units, navigate (absent before format 1.3: then
 * `metadata/Signal/record_by` — "spectrum" or "image" — tells the signal axes), and a
 * `metadata` tree (title in metadata/General/title).
 *
 * webnmf unmixes spectra: the signal must be 1-D. Navigation dimensions map to the cube as
 *   0 → 1 × 1 (a single spectrum), 1 → 1 × n, 2 → rows (y) × cols (x), 3 → slices × rows × cols.
 * A non-uniform axis (format 3.x, `axis` array) is kept as its first point and mean step, with
 * the points in `metadata.nonUniformAxes`.
 */
import { WebnmfError } from '../../errors.js';
import { checkCube, moveAxisToLast, type Axis, type Bytes, type Cube } from './cube.js';
import {
  attr,
  attrs,
  getDataset,
  getGroup,
  keysOf,
  readNumeric,
  withH5Bytes,
  type H5File,
  type H5Group,
} from './h5.js';

export interface HspyReadOptions {
  /** Which `Experiments/<name>` to read; default: the first whose signal is 1-D. */
  experiment?: string;
}

interface ExperimentInfo {
  name: string;
  shape: number[];
  axes: Axis[];
  signalDims: number[];
  title?: string;
  signalType?: string;
  recordBy?: string;
  nonUniform: Record<string, number[]>;
}

const fail = (name: string, message: string): never => {
  throw new WebnmfError('input', `${name}: ${message}`);
};

/** Reads a HyperSpy .hspy / .hdf5 file's bytes. */
export async function readHspy(bytes: Bytes, name = 'input.hspy', options: HspyReadOptions = {}): Promise<Cube> {
  return withH5Bytes(bytes, name, (f) => readHspyFromH5(f, name, options));
}

/** Whether an open HDF5 file is a HyperSpy file. */
export function isHspy(f: H5File): boolean {
  return attr(f, 'file_format') === 'HyperSpy' || getGroup(f, 'Experiments') !== undefined;
}

/** Describes each signal of a HyperSpy file (name, shape, axes), e.g. for messages. */
export function describeHspy(f: H5File, name: string): ExperimentInfo[] {
  const exps = getGroup(f, 'Experiments');
  if (!exps) return [];
  return keysOf(exps).flatMap((k) => {
    const g = getGroup(exps, k);
    return g ? [experimentInfo(g, k, name)] : [];
  });
}

/** Reads from an open HDF5 file (e.g. one mounted with WORKERFS; see h5.ts). */
export function readHspyFromH5(f: H5File, name: string, options: HspyReadOptions = {}): Cube {
  const version = String(attr(f, 'file_format_version') ?? '');
  const exps = getGroup(f, 'Experiments');
  if (!exps) {
    return fail(
      name,
      'this HDF5 file has no Experiments group, so it is not a HyperSpy file' +
        (getGroup(f, 'Data') ? ' (it looks like a Velox .emd: rename it to .emd)' : '') +
        `; top-level entries: ${keysOf(f).join(', ') || 'none'}.`,
    );
  }
  const names = keysOf(exps).filter((k) => getGroup(exps, k));
  if (names.length === 0) fail(name, 'the Experiments group holds no signal.');
  let chosen: string;
  if (options.experiment !== undefined) {
    if (!names.includes(options.experiment)) {
      return fail(name, `there is no experiment '${options.experiment}'; the file holds ${names.map((n) => `'${n}'`).join(', ')}.`);
    }
    chosen = options.experiment;
  } else {
    const infos = names.map((n) => experimentInfo(getGroup(exps, n)!, n, name));
    const spectral = infos.find((i) => i.signalDims.length === 1);
    if (!spectral) {
      const what = infos.map(describeInfo).join('; ');
      return fail(
        name,
        `the file holds ${what}. webnmf unmixes spectrum images: it needs a signal with one ` +
          '(energy / wavenumber) axis. In HyperSpy, turn the data into spectra with ' +
          's.as_signal1D(spectral_axis) (or transpose(signal_axes=[...])) and save again.',
      );
    }
    chosen = spectral.name;
  }
  const g = getGroup(exps, chosen)!;
  const info = experimentInfo(g, chosen, name);
  if (info.signalDims.length !== 1) {
    fail(
      name,
      `experiment '${chosen}' holds ${describeInfo(info)}; webnmf needs a signal with exactly one ` +
        '(spectral) axis. In HyperSpy: s.as_signal1D(spectral_axis), then save again.',
    );
  }
  const ds = getDataset(g, 'data')!;
  let data = readNumeric(ds, name);
  const sig = info.signalDims[0]!;
  data = moveAxisToLast(data, info.shape, sig);
  const navAxes = info.axes.filter((_, i) => i !== sig).map((a) => ({ ...a, navigate: true }));
  const signalAxis = { ...info.axes[sig]!, navigate: false };
  if (navAxes.length > 3) {
    fail(
      name,
      `experiment '${chosen}' has ${navAxes.length} navigation axes (${navAxes.map((a) => a.name).join(', ')}); ` +
        'webnmf reads at most 3 (z, y, x). Reduce them in HyperSpy (e.g. s.inav[...] or sum an axis) and save again.',
    );
  }
  const sizes = navAxes.map((a) => a.size);
  const [slices, rows, cols] =
    sizes.length === 3 ? sizes : sizes.length === 2 ? [undefined, sizes[0], sizes[1]] : sizes.length === 1 ? [undefined, 1, sizes[0]] : [undefined, 1, 1];
  const metadata: Record<string, unknown> = {
    format: 'hspy',
    fileFormatVersion: version,
    experiment: chosen,
    experiments: names,
    originalShape: info.shape,
  };
  if (info.signalType !== undefined) metadata['signalType'] = info.signalType;
  if (info.recordBy !== undefined) metadata['recordBy'] = info.recordBy;
  if (Object.keys(info.nonUniform).length > 0) metadata['nonUniformAxes'] = info.nonUniform;
  const general = getGroup(g, 'metadata/General');
  if (general) metadata['general'] = attrs(general);
  return checkCube({
    data,
    rows: rows!,
    cols: cols!,
    channels: signalAxis.size,
    ...(slices !== undefined ? { slices } : {}),
    signalAxis,
    navigationAxes: navAxes,
    title: info.title,
    source: name,
    metadata,
  });
}

function describeInfo(i: ExperimentInfo): string {
  const sigAxes = i.signalDims.map((d) => i.axes[d]!);
  const kind =
    sigAxes.length === 0
      ? 'no signal axis'
      : sigAxes.length === 1
        ? '1-D spectra'
        : sigAxes.length === 2
          ? 'a 2-D image signal'
          : `a ${sigAxes.length}-D signal`;
  const axes = i.axes.map((a) => `${a.name}${a.navigate ? '' : '*'} ${a.size}${a.units ? ` (${a.units})` : ''}`).join(', ');
  return (
    `'${i.name}'${i.title && i.title !== i.name ? ` ("${i.title}")` : ''}: data of shape (${i.shape.join(', ')}) with ` +
    `${kind}${i.signalType ? ` [signal_type ${i.signalType}]` : ''}; axes ${axes} (* = signal axis)`
  );
}

function experimentInfo(g: H5Group, expName: string, name: string): ExperimentInfo {
  const ds = getDataset(g, 'data');
  if (!ds) return fail(name, `experiment '${expName}' has no 'data' dataset; the file is incomplete or corrupt.`);
  const shape = (ds.shape ?? []).map(Number);
  const title = str(attr(getGroup(g, 'metadata/General') ?? g, 'title'));
  const signalGroup = getGroup(g, 'metadata/Signal');
  const recordBy = signalGroup ? str(attr(signalGroup, 'record_by')) : undefined;
  const signalType = signalGroup ? str(attr(signalGroup, 'signal_type')) : undefined;
  const nonUniform: Record<string, number[]> = {};
  const axes: Axis[] = [];
  let anyNavigate = false;
  for (let i = 0; i < shape.length; i++) {
    const ag = getGroup(g, `axis-${i}`);
    const a = ag ? attrs(ag) : {};
    const size = numOr(a['size'], shape[i]!);
    if (size !== shape[i]) {
      fail(name, `experiment '${expName}': axis-${i} says size ${size} but the data's dimension ${i} is ${shape[i]}; the file is inconsistent.`);
    }
    let offset = numOr(a['offset'], 0);
    let scale = numOr(a['scale'], 1);
    const axisName = str(a['name']);
    const units = str(a['units']);
    const points = a['axis'];
    if (a['offset'] === undefined && Array.isArray(points) && points.length === size && size > 0) {
      const p = points.map(Number);
      offset = p[0]!;
      scale = size > 1 ? (p[size - 1]! - p[0]!) / (size - 1) : 1;
      nonUniform[`axis-${i}`] = p;
    }
    if (a['navigate'] !== undefined) anyNavigate = true;
    axes.push({
      name: axisName && axisName !== '<undefined>' ? axisName : `axis-${i}`,
      size,
      offset,
      scale,
      units: units && units !== '<undefined>' ? units : '',
      navigate: truthy(a['navigate']),
    });
  }
  let signalDims: number[];
  if (anyNavigate) {
    signalDims = axes.flatMap((a, i) => (a.navigate ? [] : [i]));
  } else {
    // Format < 1.3: no navigate flags; record_by says how many trailing axes are the signal.
    const n = shape.length;
    const nSig = recordBy === 'image' ? Math.min(2, n) : n > 0 ? 1 : 0;
    signalDims = Array.from({ length: nSig }, (_, k) => n - nSig + k);
    for (let i = 0; i < n; i++) axes[i]!.navigate = !signalDims.includes(i);
  }
  return { name: expName, shape, axes, signalDims, title, signalType, recordBy, nonUniform };
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return String(v);
}

function numOr(v: unknown, fallback: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return v === 'True' || v === 'true' || v === '1';
  return Boolean(v);
}
