import { describe, expect, it } from 'vitest';
import { readTiffStack, readTiffStackFromBlob } from '../../src/io/readers/tiff.js';
import { cubePages, encodeTiff, type TiffEncodeOptions } from './make-tiff.js';

const rows = 3;
const cols = 4;
const channels = 5;
const ramp = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('multi-page TIFF stacks', () => {
  it.each([
    [8, 1, (i: number) => i % 251],
    [16, 1, (i: number) => (i * 977) % 65536],
    [16, 2, (i: number) => ((i * 977) % 60000) - 30000],
    [8, 2, (i: number) => (i % 200) - 100],
    [32, 3, (i: number) => i * 0.125 - 3.5],
  ] as const)('round trip: %i-bit sample format %i, 3-D cyx → rows × cols × channels', async (bits, fmt, f) => {
    const cube = ramp(rows * cols * channels, f);
    for (const le of [true, false]) {
      const bytes = encodeTiff(cubePages(cube, rows, cols, channels), { bits, sampleFormat: fmt, littleEndian: le });
      const c = await readTiffStack(bytes, 'stack.tif');
      expect([c.rows, c.cols, c.channels, c.slices]).toEqual([rows, cols, channels, undefined]);
      expect(c.data).toBeInstanceOf(Float32Array);
      expect(Array.from(c.data)).toEqual(cube);
      expect(c.signalAxis).toMatchObject({ name: 'channel', size: channels, offset: 0, scale: 1 });
    }
  });

  it('4-D zcyx from ImageJ hyperstack metadata, or from the slices option', async () => {
    const slices = 2;
    const cube = ramp(slices * rows * cols * channels, (i) => i);
    const pages = cubePages(cube, rows, cols, channels, slices);
    const ij = `ImageJ=1.54f\nimages=${slices * channels}\nchannels=${channels}\nslices=${slices}\nhyperstack=true\nunit=micron\n`;
    const c = await readTiffStack(encodeTiff(pages, { bits: 16, description: ij }), 'hyper.tif');
    expect([c.slices, c.rows, c.cols, c.channels]).toEqual([2, rows, cols, channels]);
    expect(Array.from(c.data)).toEqual(cube);
    expect(c.navigationAxes.map((a) => a.name)).toEqual(['z', 'y', 'x']);
    const d = await readTiffStack(encodeTiff(pages, { bits: 16 }), 'plain.tif', { slices: 2 });
    expect([d.slices, d.channels]).toEqual([2, channels]);
    expect(Array.from(d.data)).toEqual(cube);
    // A plain ImageJ stack (channels=1, slices=N) is N spectral channels of one image.
    const e = await readTiffStack(encodeTiff(pages, { bits: 16, description: 'ImageJ=1.54f\nimages=10\nslices=10\n' }), 'stack.tif');
    expect([e.slices, e.channels]).toEqual([undefined, 10]);
    await expect(readTiffStack(encodeTiff(pages, { bits: 16 }), 'plain.tif', { slices: 3 })).rejects.toThrowError(/slices = 3 does not divide the 10 pages/);
  });

  it('thumbnails are skipped; pages of different sizes are an error', async () => {
    const cube = ramp(rows * cols * channels, (i) => i);
    const pages = cubePages(cube, rows, cols, channels);
    const withThumb = [...pages, { width: 2, height: 1, data: [1, 2], thumbnail: true }];
    expect((await readTiffStack(encodeTiff(withThumb, { bits: 8 }), 't.tif')).channels).toBe(channels);
    const mixed = [...pages, { width: 2, height: 2, data: [1, 2, 3, 4] }];
    await expect(readTiffStack(encodeTiff(mixed, { bits: 8 }), 'mixed.tif')).rejects.toThrowError(
      /mixed\.tif: page 6 is 2 × 2 pixels but page 1 is 4 × 3; every page of a spectral stack must be the same image size/,
    );
  });

  it('corrupt and truncated TIFFs are input errors naming the file', async () => {
    const bytes = encodeTiff(cubePages(ramp(60, (i) => i), rows, cols, channels), { bits: 16 });
    await expect(readTiffStack(bytes.subarray(0, 30), 'cut.tif')).rejects.toThrowError(/cut\.tif: the TIFF could not be decoded/);
    const bad = bytes.slice();
    bad[2] = 0x2b; // not 42
    await expect(readTiffStack(bad, 'bad.tif')).rejects.toThrowError(/bad\.tif: /);
  });
});

/** A Blob that records every range read (Blob.slice) and refuses whole-file reads. */
class RangeCountingBlob extends Blob {
  largestRead = 0;
  reads = 0;
  override slice(start = 0, end = this.size, type?: string): Blob {
    this.largestRead = Math.max(this.largestRead, Math.min(end, this.size) - start);
    this.reads++;
    return super.slice(start, end, type);
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    throw new Error('the whole file was read');
  }
}

describe('TIFF stacks page by page from a Blob', () => {
  const formats: Array<[string, TiffEncodeOptions, (i: number) => number]> = [
    ['8-bit unsigned, uncompressed', { bits: 8 }, (i) => (i * 7) % 256],
    ['8-bit signed, LZW', { bits: 8, sampleFormat: 2, compression: 'lzw' }, (i) => ((i * 7) % 256) - 128],
    ['16-bit unsigned, LZW + horizontal predictor, 2-row strips', { bits: 16, compression: 'lzw', predictor: 2, rowsPerStrip: 2 }, (i) => (i * 977) % 65536],
    ['16-bit signed, Deflate, big endian', { bits: 16, sampleFormat: 2, compression: 'deflate', littleEndian: false }, (i) => ((i * 977) % 60000) - 30000],
    ['16-bit unsigned, Deflate + horizontal predictor', { bits: 16, compression: 'deflate', predictor: 2 }, (i) => (i * 331) % 65536],
    ['32-bit float, Deflate + floating-point predictor', { bits: 32, compression: 'deflate', predictor: 3 }, (i) => i * 0.125 - 3.5],
    ['64-bit float, LZW, 1-row strips', { bits: 64, compression: 'lzw', rowsPerStrip: 1 }, (i) => Math.sin(i) * 1e-3],
  ];

  it.each(formats)('%s: the same cube from a Blob as from bytes, 3-D and 4-D', async (_, options, f) => {
    for (const slices of [1, 2]) {
      const values = ramp(slices * rows * cols * channels, f);
      const description = slices > 1 ? `ImageJ=1.54f\nchannels=${channels}\nslices=${slices}\nhyperstack=true\n` : undefined;
      const bytes = encodeTiff(cubePages(values, rows, cols, channels, slices), { ...options, ...(description ? { description } : {}) });
      const fromBytes = await readTiffStack(bytes, 'stack.tif');
      const fromBlob = await readTiffStackFromBlob(new Blob([bytes]), 'stack.tif');
      expect(Array.from(fromBytes.data)).toEqual(values);
      expect(fromBlob.data).toEqual(fromBytes.data);
      expect(fromBlob.data.constructor).toBe(options.bits === 64 ? Float64Array : Float32Array);
      const { data: _a, ...shapeFromBlob } = fromBlob;
      const { data: _b, ...shapeFromBytes } = fromBytes;
      expect(shapeFromBlob).toEqual(shapeFromBytes);
      expect(fromBlob.slices).toBe(slices > 1 ? slices : undefined);
    }
  });

  it('reads one page at a time: no read comes near the file size', async () => {
    // 40 pages of 64 × 64 16-bit: 8 KiB a page, 320 KiB in all.
    const [r, c, n] = [64, 64, 40];
    const values = ramp(r * c * n, (i) => i % 65536);
    const bytes = encodeTiff(cubePages(values, r, c, n), { bits: 16 });
    const blob = new RangeCountingBlob([bytes]);
    const cube = await readTiffStackFromBlob(blob, 'big.tif');
    expect(Array.from(cube.data)).toEqual(values);
    const pageBytes = r * c * 2;
    expect(blob.largestRead).toBeLessThanOrEqual(pageBytes);
    expect(blob.largestRead).toBeLessThan(bytes.length / 20);
    expect(blob.reads).toBeGreaterThanOrEqual(n);
  });

  it('checkCubeBytes sees the cube size before any page is decoded, and can refuse the file', async () => {
    const [r, c, n] = [64, 64, 20];
    const bytes = encodeTiff(cubePages(ramp(r * c * n, (i) => i), r, c, n), { bits: 16 });
    const blob = new RangeCountingBlob([bytes]);
    const tooBig = (size: number) => {
      throw new Error(`refused: ${size} bytes`);
    };
    await expect(readTiffStackFromBlob(blob, 'big.tif', { checkCubeBytes: tooBig })).rejects.toThrowError(`refused: ${r * c * n * 4} bytes`);
    expect(blob.largestRead).toBeLessThan(r * c * 2); // IFD reads only, no page's strip
    const f64 = encodeTiff(cubePages(ramp(r * c * n, (i) => i), r, c, n), { bits: 64 });
    await expect(readTiffStack(f64, 'f64.tif', { checkCubeBytes: tooBig })).rejects.toThrowError(`refused: ${r * c * n * 8} bytes`);
  });

  it('calibrates x and y from ImageJ units and XResolution', async () => {
    const description = 'ImageJ=1.54f\nimages=5\nunit=micron\n';
    const bytes = encodeTiff(cubePages(ramp(60, (i) => i), rows, cols, channels), { bits: 16, description, xResolution: 4 });
    const cube = await readTiffStackFromBlob(new Blob([bytes]), 'cal.tif');
    expect(cube.navigationAxes).toEqual([
      { name: 'y', size: rows, offset: 0, scale: 0.25, units: 'µm', navigate: true },
      { name: 'x', size: cols, offset: 0, scale: 0.25, units: 'µm', navigate: true },
    ]);
    expect(cube.metadata).toMatchObject({ format: 'tiff', pages: 5, bitsPerSample: 16, sampleFormat: 1, imagej: { unit: 'micron' } });
  });

  it('refuses RGB pages, 32-bit integer pages, truncated files and looping page chains with the same messages from a Blob as from bytes', async () => {
    const rgb = encodeTiff([{ width: 2, height: 1, data: [1, 2, 3, 4, 5, 6], samplesPerPixel: 3 }], { bits: 8 });
    const int32 = encodeTiff(cubePages(ramp(60, (i) => i), rows, cols, channels), { bits: 32, sampleFormat: 1 });
    const cut = encodeTiff(cubePages(ramp(60, (i) => i), rows, cols, channels), { bits: 16 }).subarray(0, 30);
    // Page 2's next-IFD pointer leads back to page 1: a reader that follows it never ends (without
    // the guard this test hangs rather than fails: the walk never yields to vitest's timer).
    const loop = encodeTiff(cubePages(ramp(24, (i) => i), 2, 3, 4), { bits: 8 });
    const dv = new DataView(loop.buffer);
    const ifdEnd = (at: number) => at + 2 + dv.getUint16(at, true) * 12;
    const second = dv.getUint32(ifdEnd(dv.getUint32(4, true)), true);
    dv.setUint32(ifdEnd(second), dv.getUint32(4, true), true);
    for (const read of [
      (b: Uint8Array<ArrayBuffer>, name: string) => readTiffStack(b, name),
      (b: Uint8Array<ArrayBuffer>, name: string) => readTiffStackFromBlob(new Blob([b]), name),
    ]) {
      await expect(read(rgb, 'rgb.tif')).rejects.toThrowError(/rgb\.tif: page 1 has 3 samples per pixel \(RGB or multi-sample\); webnmf reads greyscale pages/);
      await expect(read(int32, 'int.tif')).rejects.toThrowError(/int\.tif: page 1 holds 32-bit integers, which the TIFF decoder does not read; save as 16-bit or float32/);
      await expect(read(cut, 'cut.tif')).rejects.toThrowError(/cut\.tif: the TIFF could not be decoded/);
      await expect(read(loop, 'loop.tif')).rejects.toThrowError(/loop\.tif: the TIFF could not be decoded \(page 2 points back to an earlier page/);
    }
  });
});
