/**
 * Multi-page TIFF stacks of hyperspectral images (CRS / SRS / Raman / fluorescence), decoded with
 * geotiff: uncompressed, LZW, Deflate, PackBits (with or without a predictor); 8/16-bit unsigned
 * or signed, 16/32/64-bit float pages; one grey sample per pixel.
 *
 * 3-D (cyx): every page is one channel of the same image → rows × cols × channels.
 * 4-D (zcyx): pages ordered channel fastest, then slice (ImageJ's hyperstack order czt):
 * page = z · channels + c → slices × rows × cols × channels. The split comes from the
 * `slices` option, or from ImageJ hyperstack metadata in the first page's ImageDescription
 * (`channels=C`, `slices=Z`, `frames=T`; z and t together become slices). An ImageJ stack with
 * channels=1 (a plain stack of N spectral slices) is 3-D with N channels.
 *
 * Reduced-resolution pages (thumbnails: NewSubfileType bit 0, or SubfileType 2) are skipped.
 * Pages of different sizes, RGB pages and unsupported sample formats are errors.
 *
 * Page by page: the file is read through range reads (header and IFDs first, then one page's
 * strips at a time), and each decoded page goes straight into the cube. From a Blob or File
 * (`readTiffStackFromBlob`) the whole file is therefore never in memory: only the cube and one
 * page. `readTiffStack` reads bytes already in memory through the same path.
 */
import { GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { WebnmfError } from '../../errors.js';
import { asBytes, checkCube, indexAxis, type Axis, type Bytes, type Cube } from './cube.js';

export interface TiffReadOptions {
  /** Number of z (or time) slices: pages = slices × channels. Overrides ImageJ metadata. */
  slices?: number;
  /**
   * Called with the cube's size in bytes once the pages are known and before the cube is
   * allocated or any page decoded; throw to refuse a file too large to hold (the browser app's
   * limit), so the refusal comes quickly and clearly instead of as a failed allocation.
   * Only the TIFF reader calls it (through readCube too); the other readers ignore it.
   */
  checkCubeBytes?: (bytes: number) => void;
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

/** Reads a TIFF stack from bytes in memory. */
export async function readTiffStack(bytes: Bytes, name = 'input.tif', options: TiffReadOptions = {}): Promise<Cube> {
  const u8 = asBytes(bytes);
  return readStack((offset, length) => Promise.resolve(copyRange(u8, offset, length)), name, options);
}

/**
 * Reads a TIFF stack from a Blob or File page by page: only the IFDs and one page's strips are
 * read into memory at a time (Blob.slice range reads), never the whole file.
 */
export async function readTiffStackFromBlob(blob: Blob, name = 'input.tif', options: TiffReadOptions = {}): Promise<Cube> {
  return readStack(async (offset, length) => blob.slice(offset, offset + length).arrayBuffer(), name, options);
}

/** Reads `length` bytes at `offset` (fewer at the end of the file, as Blob.slice does). */
type ReadRange = (offset: number, length: number) => Promise<ArrayBuffer>;

function copyRange(u8: Uint8Array, offset: number, length: number): ArrayBuffer {
  const start = Math.min(offset, u8.length);
  const end = Math.min(offset + length, u8.length);
  // A copy, not a view: geotiff's decoders (predictors) modify the buffer they are given.
  return u8.slice(start, end).buffer;
}

/**
 * geotiff's data source over `read`. geotiff's own fromBlob needs FileReader (absent in Node),
 * and fromArrayBuffer needs a whole ArrayBuffer; Blob.slice().arrayBuffer() works everywhere.
 */
function rangeSource(read: ReadRange) {
  return {
    fetch: (slices: Array<{ offset: number; length: number }>) => Promise.all(slices.map((s) => read(s.offset, s.length))),
    fetchSlice: async (s: { offset: number; length: number }) => ({ ...s, data: await read(s.offset, s.length) }),
    fileSize: null,
    close: async () => {},
  };
}

/** What a page's IFD says, read before any pixel is decoded. */
interface PageInfo {
  image: GeoTIFFImage;
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  sampleFormat: number;
}

/** Runs a geotiff call, turning its errors (corrupt, truncated, unsupported files) into input errors. */
async function decoding<T>(name: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof WebnmfError) throw e;
    return fail(
      name,
      `the TIFF could not be decoded (${(e as Error).message ?? e}); it is corrupt, truncated, or uses a ` +
        'compression or sample format webnmf does not read (supported: uncompressed, LZW, Deflate, PackBits; ' +
        '8/16-bit integer or 16/32/64-bit float greyscale pages).',
    );
  }
}

async function readStack(read: ReadRange, name: string, options: TiffReadOptions): Promise<Cube> {
  const { pages, description, xResolution } = await decoding(name, () => listPages(read));
  checkPages(pages, name);
  const first = pages[0]!;
  const rows = first.height;
  const cols = first.width;
  const ij = parseImageJDescription(description);
  const n = pages.length;
  const slices = sliceCount(n, ij, options, name);
  const channels = n / slices;
  const exact32 = pages.every((p) => p.bitsPerSample <= 16 || (p.bitsPerSample === 32 && p.sampleFormat === 3));
  options.checkCubeBytes?.(n * rows * cols * (exact32 ? 4 : 8));
  const data = exact32 ? new Float32Array(n * rows * cols) : new Float64Array(n * rows * cols);
  for (let page = 0; page < n; page++) {
    const src = await decoding(name, () => pages[page]!.image.readRasters({ interleave: true }));
    writePage(data, src, page, rows * cols, channels, name);
  }
  return checkCube({
    data,
    rows,
    cols,
    channels,
    ...(slices > 1 ? { slices } : {}),
    signalAxis: indexAxis('channel', channels, false),
    navigationAxes: navigationAxes(rows, cols, slices, ij, xResolution),
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

/** The full-resolution pages (IFDs only, no pixels) and the first page's description and resolution. */
async function listPages(read: ReadRange) {
  const tiff = await GeoTIFF.fromSource(rangeSource(read) as unknown as Parameters<typeof GeoTIFF.fromSource>[0]);
  const pages: PageInfo[] = [];
  // The IFD chain is walked here rather than with getImageCount, which never ends on a corrupt
  // file whose chain loops back on itself.
  const seen = new Set([tiff.firstIFDOffset]);
  for (let i = 0, last = false; !last; i++) {
    const image = await tiff.getImage(i);
    const dir = image.getFileDirectory();
    const next = dir.nextIFDByteOffset;
    if (seen.has(next)) throw new Error(`page ${i + 1} points back to an earlier page (a loop in the page chain)`);
    seen.add(next);
    last = next === 0;
    const reduced = ((dir.getValue('NewSubfileType') ?? 0) & 1) === 1 || dir.getValue('SubfileType') === 2;
    if (reduced) continue;
    pages.push({
      image,
      width: image.getWidth(),
      height: image.getHeight(),
      samplesPerPixel: image.getSamplesPerPixel(),
      bitsPerSample: image.getBitsPerSample(),
      sampleFormat: image.getSampleFormat(),
    });
  }
  const dir = pages[0]?.image.getFileDirectory();
  const description = (await dir?.loadValue('ImageDescription')) as string | undefined;
  const xResolution = rational(await dir?.loadValue('XResolution'));
  return { pages, description, xResolution };
}

/** A RATIONAL tag as a number (geotiff gives [numerator, denominator]); 0 when absent. */
function rational(v: unknown): number {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const [num, den] = Array.from(v as ArrayLike<number>);
    return num !== undefined && den ? num / den : 0;
  }
  return 0;
}

/** Every page must be one grey sample of the first page's size, in a sample format we read. */
function checkPages(pages: PageInfo[], name: string): void {
  if (pages.length === 0) fail(name, 'the TIFF holds no full-resolution page.');
  const { width: cols, height: rows } = pages[0]!;
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
}

/** How many z (or t) slices the pages hold: the option, else ImageJ hyperstack metadata, else 1. */
function sliceCount(n: number, ij: Record<string, string>, options: TiffReadOptions, name: string): number {
  if (options.slices !== undefined) {
    if (!Number.isInteger(options.slices) || options.slices < 1 || n % options.slices !== 0) {
      fail(name, `slices = ${options.slices} does not divide the ${n} pages; pages must be slices × channels.`);
    }
    return options.slices;
  }
  const c = Number(ij['channels'] ?? 1);
  const z = Number(ij['slices'] ?? 1) * Number(ij['frames'] ?? 1);
  if (c > 1 && z > 1) {
    if (c * z !== n) {
      fail(name, `the ImageJ metadata says channels=${c} × slices·frames=${z} = ${c * z} pages, but the file has ${n}; the file is truncated or its metadata is wrong (pass { slices } to override).`);
    }
    return z;
  }
  return 1;
}

/** Page = z · channels + c goes to channel c of slice z (the cube is channel fastest). */
function writePage(data: Float32Array | Float64Array, src: ArrayLike<number>, page: number, perPage: number, channels: number, name: string): void {
  if (src.length !== perPage) fail(name, `page ${page + 1} decoded to ${src.length} values instead of ${perPage}; the file is corrupt.`);
  const z = Math.floor(page / channels);
  const c = page % channels;
  const base = z * perPage * channels;
  for (let i = 0; i < perPage; i++) data[base + i * channels + c] = src[i]!;
}

/** y and x, calibrated when ImageJ gives a physical unit; a leading z (or t) for 4-D stacks. */
function navigationAxes(rows: number, cols: number, slices: number, ij: Record<string, string>, xResolution: number): Axis[] {
  const unit = ij['unit'];
  const pixelScale = unit && unit !== 'pixel' && xResolution > 0 ? 1 / xResolution : undefined;
  const navAxis = (axisName: string, size: number): Axis =>
    pixelScale !== undefined
      ? { name: axisName, size, offset: 0, scale: pixelScale, units: unit === 'micron' ? 'µm' : unit!, navigate: true }
      : indexAxis(axisName, size, true);
  const axes = [navAxis('y', rows), navAxis('x', cols)];
  if (slices > 1) axes.unshift(indexAxis(Number(ij['frames'] ?? 1) > 1 && Number(ij['slices'] ?? 1) === 1 ? 't' : 'z', slices, true));
  return axes;
}
