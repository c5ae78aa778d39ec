import { describe, expect, it } from 'vitest';
import { readTiffStack } from '../../src/io/readers/tiff.js';
import { cubePages, encodeTiff } from './make-tiff.js';

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
  ] as const)('round trip: %i-bit sample format %i, 3-D cyx → rows × cols × channels', (bits, fmt, f) => {
    const cube = ramp(rows * cols * channels, f);
    for (const le of [true, false]) {
      const bytes = encodeTiff(cubePages(cube, rows, cols, channels), { bits, sampleFormat: fmt, littleEndian: le });
      const c = readTiffStack(bytes, 'stack.tif');
      expect([c.rows, c.cols, c.channels, c.slices]).toEqual([rows, cols, channels, undefined]);
      expect(c.data).toBeInstanceOf(Float32Array);
      expect(Array.from(c.data)).toEqual(cube);
      expect(c.signalAxis).toMatchObject({ name: 'channel', size: channels, offset: 0, scale: 1 });
    }
  });

  it('4-D zcyx from ImageJ hyperstack metadata, or from the slices option', () => {
    const slices = 2;
    const cube = ramp(slices * rows * cols * channels, (i) => i);
    const pages = cubePages(cube, rows, cols, channels, slices);
    const ij = `ImageJ=1.54f\nimages=${slices * channels}\nchannels=${channels}\nslices=${slices}\nhyperstack=true\nunit=micron\n`;
    const c = readTiffStack(encodeTiff(pages, { bits: 16, description: ij }), 'hyper.tif');
    expect([c.slices, c.rows, c.cols, c.channels]).toEqual([2, rows, cols, channels]);
    expect(Array.from(c.data)).toEqual(cube);
    expect(c.navigationAxes.map((a) => a.name)).toEqual(['z', 'y', 'x']);
    const d = readTiffStack(encodeTiff(pages, { bits: 16 }), 'plain.tif', { slices: 2 });
    expect([d.slices, d.channels]).toEqual([2, channels]);
    expect(Array.from(d.data)).toEqual(cube);
    // A plain ImageJ stack (channels=1, slices=N) is N spectral channels of one image.
    const e = readTiffStack(encodeTiff(pages, { bits: 16, description: 'ImageJ=1.54f\nimages=10\nslices=10\n' }), 'stack.tif');
    expect([e.slices, e.channels]).toEqual([undefined, 10]);
    expect(() => readTiffStack(encodeTiff(pages, { bits: 16 }), 'plain.tif', { slices: 3 })).toThrowError(/slices = 3 does not divide the 10 pages/);
  });

  it('thumbnails are skipped; pages of different sizes are an error', () => {
    const cube = ramp(rows * cols * channels, (i) => i);
    const pages = cubePages(cube, rows, cols, channels);
    const withThumb = [...pages, { width: 2, height: 1, data: [1, 2], thumbnail: true }];
    expect(readTiffStack(encodeTiff(withThumb, { bits: 8 }), 't.tif').channels).toBe(channels);
    const mixed = [...pages, { width: 2, height: 2, data: [1, 2, 3, 4] }];
    expect(() => readTiffStack(encodeTiff(mixed, { bits: 8 }), 'mixed.tif')).toThrowError(
      /mixed\.tif: page 6 is 2 × 2 pixels but page 1 is 4 × 3; every page of a spectral stack must be the same image size/,
    );
  });

  it('corrupt and truncated TIFFs are input errors naming the file', () => {
    const bytes = encodeTiff(cubePages(ramp(60, (i) => i), rows, cols, channels), { bits: 16 });
    expect(() => readTiffStack(bytes.subarray(0, 30), 'cut.tif')).toThrowError(/cut\.tif: the TIFF could not be decoded/);
    const bad = bytes.slice();
    bad[2] = 0x2b; // not 42
    expect(() => readTiffStack(bad, 'bad.tif')).toThrowError(/bad\.tif: /);
  });
});
