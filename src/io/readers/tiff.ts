/**
 * Multi-page TIFF stacks of hyperspectral images (CRS / SRS / Raman / fluorescence), decoded with
 * the `tiff` package (image-js): uncompressed, LZW or Deflate; 8/16-bit unsigned or signed,
 * 32/64-bit float pages; one grey sample per pixel.
 *
 * 3-D (cyx): every page is one channel of the same image → rows × cols × channels.
 * 4-D (zcyx): pages ordered channel fastest, then slice (ImageJ's hyperstack order czt):
 * page = z · channels + c → slices × rows × cols × channels. The split comes from the
 * `slices` option, or from ImageJ hyperstack metadata in the first page's ImageDescription
 * (`channels=C`, `slices=Z`, `frames=T`; z and t together become slices). An ImageJ stack with
 * channels=1 (a plain stack of N spectral slices) is 3-D with N channels.
 *
 * Reduced-resolution pages (thumbnails, NewSubfileType bit 0) are skipped. Pages of different
 * sizes, RGB pages and unsupported sample formats are errors.
 */
import { decode, type TiffIfd } from 'tiff';
import { WebnmfError } from '../../errors.js';
import { asBytes, checkCube, indexAxis, type Axis, type Bytes, type Cube } from './cube.js';

export interface TiffReadOptions {
  /** Number of z (or time) slices: pages = slices × channels. Overrides ImageJ metadata. */
  slices?: number;
}

const fail = (name: string, message: string): never => {
  throw new WebnmfError('input', `${name}: ${message}`);
};

/** ImageJ's `key=value` lines from the ImageDescription ({} when not an ImageJ file). */
export function parseImageJDescription(desc: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!desc || !/^ImageJ=/m.test(desc)) return out;
  for (const line of desc.split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function readTiffStack(bytes: Bytes, name = 'input.tif', options: TiffReadOptions = {}): Cube {
  const u8 = asBytes(bytes);
  let pages: TiffIfd[];
  try {
    pages = decode(u8);
  } catch (e) {
    return fail(
      name,
      `the TIFF could not be decoded (${(e as Error).message ?? e}); it is corrupt, truncated, or uses a ` +
        'compression or sample format webnmf does not read (supported: uncompressed, LZW, Deflate; 8/16-bit ' +
        'integer or 32/64-bit float greyscale pages).',
    );
  }
  pages = pages.filter((p) => (p.newSubfileType & 1) === 0);
  if (pages.length === 0) fail(name, 'the TIFF holds no full-resolution page.');
  const first = pages[0]!;
  const rows = first.height;
  const cols = first.width;
  pages.forEach((p, i) => {
    if (p.samplesPerPixel !== 1) {
      fail(name, `page ${i + 1} has ${p.samplesPerPixel} samples per pixel (RGB or multi-sample); webnmf reads greyscale pages, one channel per page — save the stack as greyscale pages.`);
    }
    if (p.width !== cols || p.height !== rows) {
      fail(
        name,
        `page ${i + 1} is ${p.width} × ${p.height} pixels but page 1 is ${cols} × ${rows}; every page of a ` +
          'spectral stack must be the same image size (is this a pyramid or a multi-image file?).',
      );
    }
    if (p.bitsPerSample === 32 && p.sampleFormat !== 3) {
      fail(name, `page ${i + 1} holds 32-bit integers, which the TIFF decoder does not read; save as 16-bit or float32.`);
    }
  });
  const ij = parseImageJDescription(first.imageDescription);
  const n = pages.length;
  let slices = 1;
  if (options.slices !== undefined) {
    if (!Number.isInteger(options.slices) || options.slices < 1 || n % options.slices !== 0) {
      fail(name, `slices = ${options.slices} does not divide the ${n} pages; pages must be slices × channels.`);
    }
    slices = options.slices;
  } else {
    const c = Number(ij['channels'] ?? 1);
    const z = Number(ij['slices'] ?? 1) * Number(ij['frames'] ?? 1);
    if (c > 1 && z > 1) {
      if (c * z !== n) {
        fail(name, `the ImageJ metadata says channels=${c} × slices·frames=${z} = ${c * z} pages, but the file has ${n}; the file is truncated or its metadata is wrong (pass { slices } to override).`);
      }
      slices = z;
    }
  }
  const channels = n / slices;
  const perPage = rows * cols;
  const exact32 = pages.every((p) => p.bitsPerSample <= 16 || (p.bitsPerSample === 32 && p.sampleFormat === 3));
  const data = exact32 ? new Float32Array(n * perPage) : new Float64Array(n * perPage);
  pages.forEach((p, page) => {
    const z = Math.floor(page / channels);
    const c = page % channels;
    const src = samples(p);
    if (src.length !== perPage) fail(name, `page ${page + 1} decoded to ${src.length} values instead of ${perPage}; the file is corrupt.`);
    const base = z * perPage * channels;
    for (let i = 0; i < perPage; i++) data[base + i * channels + c] = src[i]!;
  });
  const unit = ij['unit'];
  const xres = first.xResolution;
  const pixelScale = unit && unit !== 'pixel' && xres > 0 ? 1 / xres : undefined;
  const navAxis = (axisName: string, size: number): Axis =>
    pixelScale !== undefined
      ? { name: axisName, size, offset: 0, scale: pixelScale, units: unit === 'micron' ? 'µm' : unit!, navigate: true }
      : indexAxis(axisName, size, true);
  const navigationAxes = [navAxis('y', rows), navAxis('x', cols)];
  if (slices > 1) navigationAxes.unshift(indexAxis(Number(ij['frames'] ?? 1) > 1 && Number(ij['slices'] ?? 1) === 1 ? 't' : 'z', slices, true));
  return checkCube({
    data,
    rows,
    cols,
    channels,
    ...(slices > 1 ? { slices } : {}),
    signalAxis: indexAxis('channel', channels, false),
    navigationAxes,
    source: name,
    metadata: {
      format: 'tiff',
      pages: n,
      bitsPerSample: first.bitsPerSample,
      sampleFormat: first.sampleFormat,
      ...(Object.keys(ij).length ? { imagej: ij } : {}),
    },
  });
}

/** A page's samples with signed integers reinterpreted (the decoder returns them unsigned). */
function samples(p: TiffIfd): ArrayLike<number> {
  const d = p.data;
  if (p.sampleFormat === 2) {
    if (d instanceof Uint8Array) return new Int8Array(d.buffer, d.byteOffset, d.length);
    if (d instanceof Uint16Array) return new Int16Array(d.buffer, d.byteOffset, d.length);
  }
  return d;
}
