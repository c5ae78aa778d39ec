import { unzipSync } from 'fflate';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebnmfError } from '../../src/errors.js';
import { encodeNpy } from '../../src/io/npy.js';
import { readCube, readCubeFromFile, readsInPlace, sniffFormat } from '../../src/io/readers/index.js';
import { readCubeFile } from '../../src/io/readers/node.js';
import { cubePages, encodeTiff } from './make-tiff.js';
import { fixtureBytes, fixturePath } from './fixtures.js';

const U16 = 'ripple/test_ripple_sdim-1_ndim-2_uint16';

describe('readCube: dispatch on magic bytes and extension', () => {
  it('reads every format', async () => {
    const npy = encodeNpy({ shape: [2, 3, 4], data: Array.from({ length: 24 }, (_, i) => i) });
    const a = await readCube(npy, 'cube.npy');
    expect([a.rows, a.cols, a.channels, a.metadata?.['format']]).toEqual([2, 3, 4, 'npy']);
    expect(a.data[23]).toBe(23);
    const a4 = await readCube(encodeNpy({ shape: [2, 1, 3, 4], data: new Array(24).fill(1) }), 'z.npy');
    expect([a4.slices, a4.rows, a4.cols, a4.channels]).toEqual([2, 1, 3, 4]);

    const h = await readCube(fixtureBytes('hspy/example1_v1.2.hdf5'), 'example1_v1.2.hdf5');
    expect(h.channels).toBe(21);

    const e = await readCube(unzipSync(fixtureBytes('emd/velox_emd_version11.zip'))['Test SI 16x16 215 kx.emd']!, 'si.emd');
    expect([e.rows, e.cols, e.channels]).toEqual([16, 16, 4096]);

    const t = await readCube(encodeTiff(cubePages(new Array(24).fill(7), 2, 3, 4), { bits: 16 }), 'stack.tiff');
    expect([t.rows, t.cols, t.channels]).toEqual([2, 3, 4]);

    const r = await readCube(fixtureBytes(`${U16}.rpl`), 'x.rpl', { raw: fixtureBytes(`${U16}.raw`) });
    expect([r.rows, r.cols, r.channels]).toEqual([2, 3, 4]);
    // an ArrayBuffer works as well as a Uint8Array
    const ab = npy.buffer.slice(npy.byteOffset, npy.byteOffset + npy.byteLength) as ArrayBuffer;
    expect((await readCube(ab, 'cube.npy')).channels).toBe(4);
  });

  it('the bytes win over the extension', async () => {
    const npy = encodeNpy({ shape: [1, 1, 3], data: [1, 2, 3] });
    expect(sniffFormat(npy, 'misnamed.tif')).toBe('npy');
    expect((await readCube(npy, 'misnamed.tif')).channels).toBe(3);
  });

  it('unknown, mislabelled, empty and incomplete inputs give clear errors', async () => {
    await expect(readCube(new TextEncoder().encode('hello'), 'notes.txt')).rejects.toThrowError(
      /notes\.txt: unknown file format '\.txt'\. webnmf reads NumPy \.npy .*HyperSpy .*Velox .*TIFF .*ripple/,
    );
    await expect(readCube(new Uint8Array(100), 'broken.hspy')).rejects.toThrowError(/broken\.hspy: the file does not start like its extension says/);
    await expect(readCube(new Uint8Array(0), 'empty.npy')).rejects.toThrowError(/empty\.npy: the file is empty/);
    await expect(readCube(fixtureBytes(`${U16}.rpl`), 'x.rpl')).rejects.toThrowError(/x\.rpl: a ripple header needs its binary: pass the bytes of x\.raw as \{ raw \}/);
    await expect(readCube(fixtureBytes(`${U16}.raw`), 'x.raw')).rejects.toThrowError(/binary half of a Lispix ripple pair/);
    await expect(readCube(encodeNpy({ shape: [6, 4], data: new Array(24).fill(0) }), 'm.npy')).rejects.toThrowError(
      /m\.npy: a \.npy spectrum image must be 3-D .* shape \(6, 4\)/,
    );
    const npy = encodeNpy({ shape: [2, 3, 4], data: new Array(24).fill(0) });
    await expect(readCube(npy.subarray(0, npy.length - 5), 'cut.npy')).rejects.toBeInstanceOf(WebnmfError);
  });
});

describe('readCubeFile (Node)', () => {
  it('finds the .raw beside a .rpl, and the .rpl beside a .raw', async () => {
    const a = await readCubeFile(fixturePath(`${U16}.rpl`));
    const b = await readCubeFile(fixturePath(`${U16}.raw`));
    expect([a.rows, a.cols, a.channels]).toEqual([2, 3, 4]);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(a.metadata?.['rawFile']).toBe('test_ripple_sdim-1_ndim-2_uint16.raw');
  });

  it('reads a TIFF stack from disk page by page, the same cube as from its bytes', async () => {
    const bytes = encodeTiff(cubePages(Array.from({ length: 60 }, (_, i) => i * 3), 3, 5, 4), { bits: 16, compression: 'deflate' });
    const dir = mkdtempSync(join(tmpdir(), 'webnmf-tiff-'));
    try {
      const file = join(dir, 'stack.tif');
      writeFileSync(file, bytes);
      const fromDisk = await readCubeFile(file);
      const fromBytes = await readCube(bytes, 'stack.tif');
      expect([fromDisk.rows, fromDisk.cols, fromDisk.channels]).toEqual([3, 5, 4]);
      expect(Array.from(fromDisk.data)).toEqual(Array.from(fromBytes.data));
      expect(fromDisk.source).toBe('stack.tif');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads HDF5 files from disk; a missing file is an input error', async () => {
    const c = await readCubeFile(fixturePath('hspy/example1_v1.2.hdf5'));
    expect(c.source).toBe('example1_v1.2.hdf5');
    await expect(readCubeFile(fixturePath('hspy/nope.hspy'))).rejects.toThrowError(/cannot read '.*nope\.hspy': no such file/);
  });
});

describe('readCubeFromFile (browser File objects)', () => {
  it('gives the same cube as readCube (outside a worker it reads the bytes; in a worker HDF5 is mounted in place)', async () => {
    const bytes = unzipSync(fixtureBytes('emd/velox_emd_version11.zip'))['Test SI 16x16 215 kx.emd']!;
    const fromFile = await readCubeFromFile(new File([bytes], 'si.emd'));
    const fromBytes = await readCube(bytes, 'si.emd');
    expect([fromFile.rows, fromFile.cols, fromFile.channels]).toEqual([16, 16, 4096]);
    expect(Array.from(fromFile.data)).toEqual(Array.from(fromBytes.data));
  });

  it('reads a TIFF stack page by page: never the whole file, and the same cube as readCube', async () => {
    class SlicedOnly extends File {
      override arrayBuffer(): Promise<ArrayBuffer> {
        throw new Error('the whole file was read');
      }
    }
    const bytes = encodeTiff(cubePages(Array.from({ length: 24 }, (_, i) => i), 2, 3, 4), { bits: 16, compression: 'lzw' });
    const fromFile = await readCubeFromFile(new SlicedOnly([bytes], 'stack.tif'));
    const fromBytes = await readCube(bytes, 'stack.tif');
    expect(fromFile).toEqual(fromBytes);
    expect(readsInPlace(bytes.subarray(0, 4096), 'stack.tif')).toBe(true);
    // Outside a worker there is no WORKERFS: HDF5 is read as bytes.
    expect(readsInPlace(fixtureBytes('hspy/example1_v1.2.hdf5').subarray(0, 4096), 'x.hspy')).toBe(false);
  });
});
