/**
 * Thermo Fisher (FEI) Velox .emd files (HDF5).
 *
 * What a Velox file holds (version 11 seen in RosettaSciIO's test data):
 *   Data/Image/<id>/Data            (height, width, frames) images: HAADF, element maps …
 *   Data/Spectrum/<id>/Data         (channels, 1) summed spectra, one per detector
 *   Data/SpectrumStream/<id>/       an EDX spectrum image as an event stream, one per detector:
 *       Data                 uint16 (n, 1): for each pixel in scan order, the channel index of
 *                            every detected X-ray, then 65535 to move to the next pixel; after
 *                            the last pixel of a frame the next frame starts at pixel 0
 *       FrameLocationTable   (frames, 1) index in Data where each frame starts
 *       AcquisitionSettings  JSON: bincount (channels), StreamEncoding (uint16)
 *       Metadata             uint8 (60000, frames): JSON per frame, NUL-padded (detector
 *                            Dispersion / OffsetEnergy in eV, BinaryResult pixel size)
 *   Data/SpectrumImage/<id>/Data    opaque bytes in Velox's own compression (not read)
 *   Version                         JSON {"version": "11", "format": "Velox"}
 *
 * The reader decodes the spectrum streams into a rows × cols × channels count cube, summing the
 * detector segments and the frames (as RosettaSciIO does by default), or keeping one detector
 * and/or stacking frames as slices. The scan shape comes from the image datasets whose
 * height × width matches the pixel count per frame counted in the stream (the metadata's
 * ScanSize can describe the full field instead of the acquired area). The energy axis is in keV
 * (Dispersion and OffsetEnergy are eV in the file; keV is HyperSpy's EDS convention).
 *
 * Not read: the Velox-compressed Data/SpectrumImage blobs (files "pruned" by Velox keep only
 * those), EELS spectrum images, image-only files: each gives a clear error listing what the
 * file holds.
 */
import { WebnmfError } from '../../errors.js';
import { checkCube, type Axis, type Bytes, type Cube } from './cube.js';
import { getDataset, getGroup, keysOf, readNumeric, withH5Bytes, type H5Dataset, type H5File } from './h5.js';

export interface EmdReadOptions {
  /** 'sum' (default) adds every detector segment's stream; a number keeps that stream only (0-based, in file order). */
  detector?: 'sum' | number;
  /** 'sum' (default) adds the frames; 'stack' keeps them as slices (frames × rows × cols × channels). */
  frames?: 'sum' | 'stack';
}

export interface EmdContents {
  version?: string;
  images: Array<{ path: string; shape: number[]; dtype: string; title?: string }>;
  spectra: Array<{ path: string; shape: number[] }>;
  streams: Array<{ path: string; values: number; frames: number; channels: number; detector?: string }>;
  spectrumImages: Array<{ path: string; shape: number[]; dtype: string }>;
}

const fail = (name: string, message: string): never => {
  throw new WebnmfError('input', `${name}: ${message}`);
};

/** Reads a Velox .emd file's bytes into a cube decoded from its EDX spectrum streams. */
export async function readEmd(bytes: Bytes, name = 'input.emd', options: EmdReadOptions = {}): Promise<Cube> {
  return withH5Bytes(bytes, name, (f) => readEmdFromH5(f, name, options));
}

/** Lists what a Velox file holds. */
export async function describeEmd(bytes: Bytes, name = 'input.emd'): Promise<EmdContents> {
  return withH5Bytes(bytes, name, (f) => describeEmdFromH5(f, name));
}

/** Whether an open HDF5 file looks like a Velox file. */
export function isVelox(f: H5File): boolean {
  return getGroup(f, 'Data') !== undefined && (getDataset(f, 'Version') !== undefined || getGroup(f, 'Data/Image') !== undefined);
}

function jsonOf(ds: H5Dataset | undefined, name: string): Record<string, unknown> | undefined {
  if (!ds) return undefined;
  let v: unknown;
  try {
    v = ds.value;
  } catch {
    return undefined;
  }
  const text = Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail(name, `${ds.path} is not valid JSON; the file is corrupt.`);
  }
}

/** The first frame's metadata JSON from a (60000, frames) uint8 Metadata dataset. */
function frameMetadata(ds: H5Dataset | undefined): Record<string, unknown> | undefined {
  if (!ds) return undefined;
  const shape = ds.shape ?? [];
  try {
    const raw = shape.length === 2 ? ds.slice([[0, shape[0]!], [0, 1]]) : ds.value;
    if (!(raw instanceof Uint8Array)) return undefined;
    let end = raw.indexOf(0);
    if (end < 0) end = raw.length;
    return JSON.parse(new TextDecoder().decode(raw.subarray(0, end))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const get = (o: unknown, ...path: string[]): unknown => {
  let cur = o;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
};

const numOf = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

export function describeEmdFromH5(f: H5File, name: string): EmdContents {
  const version = get(jsonOf(getDataset(f, 'Version'), name), 'version');
  const out: EmdContents = {
    ...(version !== undefined ? { version: String(version) } : {}),
    images: [],
    spectra: [],
    streams: [],
    spectrumImages: [],
  };
  const titles = imageTitles(f);
  const imgs = getGroup(f, 'Data/Image');
  for (const id of imgs ? keysOf(imgs) : []) {
    const ds = getDataset(f, `Data/Image/${id}/Data`);
    if (ds) out.images.push({ path: ds.path, shape: ds.shape ?? [], dtype: String(ds.dtype), ...(titles.has(id) ? { title: titles.get(id)! } : {}) });
  }
  const spec = getGroup(f, 'Data/Spectrum');
  for (const id of spec ? keysOf(spec) : []) {
    const ds = getDataset(f, `Data/Spectrum/${id}/Data`);
    if (ds) out.spectra.push({ path: ds.path, shape: ds.shape ?? [] });
  }
  const streams = getGroup(f, 'Data/SpectrumStream');
  for (const id of streams ? keysOf(streams) : []) {
    const ds = getDataset(f, `Data/SpectrumStream/${id}/Data`);
    if (!ds) continue;
    const settings = jsonOf(getDataset(f, `Data/SpectrumStream/${id}/AcquisitionSettings`), name);
    const flt = getDataset(f, `Data/SpectrumStream/${id}/FrameLocationTable`);
    const md = frameMetadata(getDataset(f, `Data/SpectrumStream/${id}/Metadata`));
    const det = get(md, 'BinaryResult', 'Detector');
    out.streams.push({
      path: ds.path,
      values: (ds.shape ?? [0])[0] ?? 0,
      frames: flt ? (flt.shape ?? [1])[0] ?? 1 : 1,
      channels: numOf(get(settings, 'bincount')) ?? 0,
      ...(det !== undefined ? { detector: String(det) } : {}),
    });
  }
  const sis = getGroup(f, 'Data/SpectrumImage');
  for (const id of sis ? keysOf(sis) : []) {
    const ds = getDataset(f, `Data/SpectrumImage/${id}/Data`);
    if (ds) out.spectrumImages.push({ path: ds.path, shape: ds.shape ?? [], dtype: String(ds.dtype) });
  }
  return out;
}

/** Image titles ("HAADF", "Cu", …) from the Displays/ImageDisplay → ImageSeriesDataReference links. */
function imageTitles(f: H5File): Map<string, string> {
  const titles = new Map<string, string>();
  const disp = getGroup(f, 'Displays/ImageDisplay');
  if (!disp) return titles;
  for (const k of keysOf(disp)) {
    try {
      const d = jsonOf(getDataset(disp, k), 'x');
      const ref = get(d, 'data');
      const title = get(d, 'title');
      if (typeof ref !== 'string' || typeof title !== 'string') continue;
      const r = jsonOf(getDataset(f, ref.replace(/^\//, '')), 'x');
      const path = get(r, 'dataPath');
      if (typeof path === 'string') titles.set(path.split('/').pop()!, title);
    } catch {
      // titles are a nicety
    }
  }
  return titles;
}

function contentsText(c: EmdContents): string {
  const parts: string[] = [];
  parts.push(`${c.images.length} image(s)${c.images.length ? ` (${c.images.map((i) => `${i.title ?? 'untitled'} ${i.shape.join('×')}`).join(', ')})` : ''}`);
  parts.push(`${c.spectra.length} summed spectrum/spectra`);
  parts.push(`${c.streams.length} spectrum stream(s)`);
  if (c.spectrumImages.length) parts.push(`${c.spectrumImages.length} Velox-compressed SpectrumImage blob(s)`);
  return parts.join(', ');
}

export function readEmdFromH5(f: H5File, name: string, options: EmdReadOptions = {}): Cube {
  if (!isVelox(f)) {
    fail(name, `this HDF5 file is not a Velox .emd (no Data group / Version); top-level entries: ${keysOf(f).join(', ') || 'none'}.`);
  }
  const contents = describeEmdFromH5(f, name);
  if (contents.streams.length === 0) {
    fail(
      name,
      `the file holds no EDX spectrum stream (Data/SpectrumStream), so there is no spectrum image to unmix; it holds ` +
        `${contentsText(contents)}.` +
        (contents.spectrumImages.length
          ? ' Velox kept only its compressed SpectrumImage (the file was pruned / saved with reduced data), which ' +
            'webnmf cannot decode: export the original acquisition file, or export the spectrum image from Velox ' +
            '(e.g. as .rpl/.raw) instead.'
          : ''),
    );
  }
  const streamIds = keysOf(getGroup(f, 'Data/SpectrumStream')!).filter((id) => getDataset(f, `Data/SpectrumStream/${id}/Data`));
  let chosen = streamIds;
  const det = options.detector ?? 'sum';
  if (det !== 'sum') {
    if (!Number.isInteger(det) || det < 0 || det >= streamIds.length) {
      fail(name, `detector ${det} does not exist; the file has ${streamIds.length} stream(s), 0..${streamIds.length - 1}.`);
    }
    chosen = [streamIds[det]!];
  }
  // Decode every chosen stream's values and settings first.
  const decoded = chosen.map((id) => {
    const base = `Data/SpectrumStream/${id}`;
    const settings = jsonOf(getDataset(f, `${base}/AcquisitionSettings`), name);
    const encoding = String(get(settings, 'StreamEncoding') ?? get(settings, 'encoding') ?? 'uint16');
    if (encoding !== 'uint16') {
      fail(name, `${base} uses stream encoding '${encoding}'; webnmf decodes uint16 streams only.`);
    }
    const channels = numOf(get(settings, 'bincount'));
    if (channels === undefined || !Number.isInteger(channels) || channels < 1 || channels >= 65535) {
      fail(name, `${base}/AcquisitionSettings has no valid bincount (${String(get(settings, 'bincount'))}); the file is corrupt.`);
    }
    const values = readNumeric(getDataset(f, `${base}/Data`)!, name);
    const flt = getDataset(f, `${base}/FrameLocationTable`);
    const starts = flt ? Array.from(readNumeric(flt, name)) : [0];
    const md = frameMetadata(getDataset(f, `${base}/Metadata`));
    return { id, base, channels: channels!, values, starts, md };
  });
  const channels = decoded[0]!.channels;
  for (const d of decoded) {
    if (d.channels !== channels) {
      fail(name, `the spectrum streams have different channel counts (${decoded.map((x) => x.channels).join(', ')}); read one with { detector: n }.`);
    }
  }
  // Pixels per frame: separators before the second frame's start, else all separators.
  const first = decoded[0]!;
  let separators = 0;
  const until = first.starts.length > 1 ? first.starts[1]! : first.values.length;
  for (let i = 0; i < until && i < first.values.length; i++) if (first.values[i] === 65535) separators++;
  const perFrame = separators;
  if (perFrame === 0) fail(name, `${first.base}/Data holds no pixel separator (65535); the stream is empty or corrupt.`);
  const [rows, cols] = scanShape(f, first.md, perFrame, name);
  const nFrames = Math.max(...decoded.map((d) => d.starts.length));
  const stack = options.frames === 'stack';
  const pixels = rows * cols;
  const out = new Float32Array((stack ? nFrames : 1) * pixels * channels);
  for (const d of decoded) {
    const v = d.values;
    let pixel = 0;
    let frame = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x === 65535) {
        pixel++;
        if (pixel === pixels) {
          pixel = 0;
          frame++;
        }
        continue;
      }
      if (x >= channels || !Number.isInteger(x)) {
        fail(name, `${d.base}/Data value ${x} at index ${i} is not a channel below bincount ${channels}; the stream is corrupt.`);
      }
      if (frame >= nFrames) {
        fail(name, `${d.base}/Data runs past its ${nFrames} frame(s) at index ${i}; the stream is corrupt.`);
      }
      out[((stack ? frame * pixels : 0) + pixel) * channels + x] += 1;
    }
  }
  // Energy axis from the detector the stream metadata names.
  const md = first.md;
  const detIndex = numOf(get(md, 'BinaryResult', 'DetectorIndex'));
  const detector = detIndex !== undefined ? get(md, 'Detectors', `Detector-${detIndex}`) : undefined;
  const dispersion = numOf(get(detector, 'Dispersion'));
  const offsetEv = numOf(get(detector, 'OffsetEnergy'));
  const signalAxis: Axis = {
    name: 'Energy',
    size: channels,
    offset: offsetEv !== undefined ? offsetEv / 1000 : 0,
    scale: dispersion !== undefined ? dispersion / 1000 : 1,
    units: dispersion !== undefined ? 'keV' : '',
    navigate: false,
  };
  const px = numOf(get(md, 'BinaryResult', 'PixelSize', 'width'));
  const py = numOf(get(md, 'BinaryResult', 'PixelSize', 'height'));
  const ox = numOf(get(md, 'BinaryResult', 'Offset', 'x'));
  const oy = numOf(get(md, 'BinaryResult', 'Offset', 'y'));
  const nav = (n: string, size: number, scale: number | undefined, offset: number | undefined, unit: unknown): Axis => ({
    name: n,
    size,
    offset: offset ?? 0,
    scale: scale ?? 1,
    units: scale !== undefined && typeof unit === 'string' ? unit : '',
    navigate: true,
  });
  const navigationAxes = [
    nav('y', rows, py, oy, get(md, 'BinaryResult', 'PixelUnitY')),
    nav('x', cols, px, ox, get(md, 'BinaryResult', 'PixelUnitX')),
  ];
  if (stack) navigationAxes.unshift({ name: 'frame', size: nFrames, offset: 0, scale: 1, units: '', navigate: true });
  return checkCube({
    data: out,
    rows,
    cols,
    channels,
    ...(stack ? { slices: nFrames } : {}),
    signalAxis,
    navigationAxes,
    title: 'EDS',
    source: name,
    metadata: {
      format: 'velox-emd',
      version: contents.version,
      streams: decoded.map((d) => d.base),
      detectors: decoded.map((d) => get(d.md, 'BinaryResult', 'Detector')),
      frames: nFrames,
      framesSummed: !stack,
      contents,
    },
  });
}

/** (rows, cols) of the scan: an image whose height × width equals the pixels per frame, else ScanSize. */
function scanShape(f: H5File, md: Record<string, unknown> | undefined, perFrame: number, name: string): [number, number] {
  const candidates: Array<[number, number, string]> = [];
  const imgs = getGroup(f, 'Data/Image');
  for (const id of imgs ? keysOf(imgs) : []) {
    const s = getDataset(f, `Data/Image/${id}/Data`)?.shape;
    if (s && s.length >= 2) candidates.push([s[0]!, s[1]!, `image ${id}`]);
  }
  const w = numOf(get(md, 'Scan', 'ScanSize', 'width'));
  const h = numOf(get(md, 'Scan', 'ScanSize', 'height'));
  if (w !== undefined && h !== undefined) candidates.push([h, w, 'Scan.ScanSize']);
  const hit = candidates.find(([r, c]) => r * c === perFrame);
  if (!hit) {
    return fail(
      name,
      `the spectrum stream has ${perFrame} pixels per frame, but no image or ScanSize in the file matches ` +
        `(${candidates.map(([r, c, s]) => `${s}: ${r}×${c}`).join(', ') || 'none found'}); the file is corrupt or ` +
        'the acquisition was interrupted in its first frame.',
    );
  }
  return [hit[0], hit[1]];
}
