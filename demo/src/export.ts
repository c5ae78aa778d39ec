/**
 * Exports, all built in the page (nothing leaves the machine): maps and spectra as .npy, maps as
 * a float32 multi-page TIFF and as PNGs (viridis, drawn on a canvas, zipped), spectra as CSV, the
 * preset JSON and a short text report of parameters and timings.
 */
import { zipSync } from 'fflate';
import { encodeNpy } from '../../src/io/npy.js';
import type { DatasetInfo, ResultData } from './protocol.js';
import { MODES, type Preset } from './state.js';
import { fmt, seconds } from './views/format.js';
import { drawMap, valueRange } from './views/maps.js';

export function download(data: Uint8Array | string, name: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Maps as k × rows × cols (float32) .npy. */
export const mapsNpy = (r: ResultData, info: DatasetInfo): Uint8Array =>
  encodeNpy({ shape: [r.k, info.rows, info.cols], data: new Float32Array(r.H) }, { dtype: 'float32' });

/** Spectra as channels × k (float64) .npy, the layout of ESPM's D. */
export const spectraNpy = (r: ResultData): Uint8Array => encodeNpy({ shape: [r.channels, r.k], data: r.D }, { dtype: 'float64' });

/** Spectra as CSV: the calibrated axis, then one column per component. */
export function spectraCsv(r: ResultData, info: DatasetInfo): string {
  const a = info.signalAxis;
  const head = [`${a.name || 'channel'}${a.units ? ` (${a.units})` : ''}`, ...Array.from({ length: r.k }, (_, c) => `component ${c}`)];
  const lines = [head.join(',')];
  for (let i = 0; i < r.channels; i++) {
    const row = [String(a.offset + a.scale * i)];
    for (let c = 0; c < r.k; c++) row.push(String(r.D[i * r.k + c]));
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * A multi-page TIFF, one float32 page per map (little endian, uncompressed, one strip per page),
 * readable by ImageJ/Fiji, tifffile and webnmf's own reader.
 */
export function mapsTiff(r: ResultData, info: DatasetInfo): Uint8Array {
  const { rows, cols } = info;
  const pages = r.k;
  const entries = 11;
  const ifdBytes = 2 + entries * 12 + 4;
  const pageBytes = rows * cols * 4;
  const desc = new TextEncoder().encode(`ImageJ=1.11a\nimages=${pages}\nslices=${pages}\nwebnmf maps of ${info.source}\n\0`);
  const total = 8 + desc.length + pages * (pageBytes + ifdBytes);
  const buf = new ArrayBuffer(total + (total % 2));
  const dv = new DataView(buf);
  const u8 = new Uint8Array(buf);
  u8.set([0x49, 0x49, 42, 0], 0);
  const descAt = 8;
  u8.set(desc, descAt);
  let at = descAt + desc.length;
  let prevNext = 4; // where the offset of the next IFD goes
  for (let k = 0; k < pages; k++) {
    const dataAt = at;
    for (let p = 0; p < rows * cols; p++) dv.setFloat32(dataAt + p * 4, r.H[k * rows * cols + p]!, true);
    at += pageBytes;
    if (at % 2) at++;
    const ifd = at;
    dv.setUint32(prevNext, ifd, true);
    dv.setUint16(ifd, entries, true);
    const tags: [number, number, number, number][] = [
      [256, 4, 1, cols], // ImageWidth
      [257, 4, 1, rows], // ImageLength
      [258, 3, 1, 32], // BitsPerSample
      [259, 3, 1, 1], // Compression: none
      [262, 3, 1, 1], // Photometric: black is zero
      [270, 2, desc.length, descAt], // ImageDescription
      [273, 4, 1, dataAt], // StripOffsets
      [277, 3, 1, 1], // SamplesPerPixel
      [278, 4, 1, rows], // RowsPerStrip
      [279, 4, 1, pageBytes], // StripByteCounts
      [339, 3, 1, 3], // SampleFormat: IEEE float
    ];
    tags.forEach(([tag, type, count, value], i) => {
      const e = ifd + 2 + i * 12;
      dv.setUint16(e, tag, true);
      dv.setUint16(e + 2, type, true);
      dv.setUint32(e + 4, count, true);
      if (type === 3 && count === 1) dv.setUint16(e + 8, value, true);
      else dv.setUint32(e + 8, value, true);
    });
    prevNext = ifd + 2 + entries * 12;
    dv.setUint32(prevNext, 0, true);
    at = prevNext + 4;
  }
  return new Uint8Array(buf, 0, at);
}

async function canvasPng(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((res) => canvas.toBlob(res, 'image/png'));
  if (!blob) throw new Error('the browser could not encode a PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

/** One viridis PNG per map (min–max scaled, the range in the file name), in a .zip. */
export async function mapsPngZip(r: ResultData, info: DatasetInfo, percentile: number): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const n = info.rows * info.cols;
  for (let k = 0; k < r.k; k++) {
    const map = r.H.subarray(k * n, (k + 1) * n);
    const range = valueRange(map, percentile);
    const c = document.createElement('canvas');
    drawMap(c, map, info.rows, info.cols, range);
    files[`map_${k}_${fmt(range.min, 4)}_to_${fmt(range.max, 4)}.png`] = await canvasPng(c);
  }
  return zipSync(files, { level: 0 });
}

export function reportText(r: ResultData, info: DatasetInfo, preset: Preset, loadMs?: number): string {
  const mode = MODES.find((m) => m.id === r.mode)!;
  const a = info.signalAxis;
  const last = r.losses.at(-1);
  const lines = [
    '# webnmf analysis report',
    '',
    `date: ${new Date().toISOString()}`,
    `data: ${info.source} (${info.format}), ${info.rows} × ${info.cols} pixels × ${info.channels} channels${info.slices ? `, slice ${info.slice} of ${info.slices}` : ''}`,
    `signal axis: ${a.name || 'channel'} from ${fmt(a.offset)} in steps of ${fmt(a.scale)} ${a.units}`,
    '',
    `mode: ${mode.label}: ${mode.help}`,
    `components: ${r.k}`,
    ...Object.entries(r.used).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${typeof v === 'number' ? fmt(v) : String(v)}`),
    `parameters: ${JSON.stringify(preset.params)}`,
    '',
    `backend: ${r.backend} (${r.backendInfo})`,
    `iterations: ${r.nIter}, stop: ${r.stopReason}`,
    last ? `final loss: ${fmt(last.full)}${last.kl !== undefined ? ` (data ${fmt(last.kl)}, log ${fmt(last.logReg ?? 0)}, Laplacian ${fmt(last.laplacian ?? 0)})` : ''}` : 'final loss: n/a',
    `timings: ${loadMs !== undefined ? `load ${seconds(loadMs / 1000)}, ` : ''}solve ${seconds(r.seconds.solve)}, fit ${seconds(r.seconds.total)}, wall ${seconds(r.seconds.wall)}`,
  ];
  if (r.auto) {
    lines.push(`auto: bin ${r.auto.bin}, λ (binned) ${fmt(r.auto.lambdaBinned)}, ${r.auto.validation.length} candidates`);
    lines.push(`auto stages: ${Object.entries(r.auto.stages).map(([k, v]) => `${k} ${seconds(v)}`).join(', ')}`);
  }
  if (r.truth) lines.push(`against the known truth: mean spectral angle ${fmt(r.truth.meanAngle, 4)}°, mean map R² ${fmt(r.truth.meanR2, 4)}`);
  if (r.warnings.length) lines.push('', 'warnings:', ...r.warnings.map((w) => `- ${w}`));
  return lines.join('\n') + '\n';
}
