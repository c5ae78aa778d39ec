import { describe, expect, it } from 'vitest';
import { readHspy } from '../../src/io/readers/hspy.js';
import { cubeToMatrix } from '../../src/io/readers/cube.js';
import { fixtureBytes } from './fixtures.js';
import { makeHspy } from './make-h5.js';

describe('HyperSpy HDF5 — real RosettaSciIO fixtures', () => {
  it('example1_v1.2.hdf5 (format 1.2): one EELS spectrum of 21 channels, no navigate flags (record_by)', async () => {
    const c = await readHspy(fixtureBytes('hspy/example1_v1.2.hdf5'), 'example1_v1.2.hdf5');
    expect([c.rows, c.cols, c.channels, c.slices]).toEqual([1, 1, 21, undefined]);
    expect(c.navigationAxes).toEqual([]);
    expect(c.signalAxis).toEqual({ name: 'Energy', size: 21, offset: 520.13, scale: 3.1, units: 'eV', navigate: false });
    expect(c.title).toBe('NIO EELS OK SHELL');
    expect(c.metadata).toMatchObject({ fileFormatVersion: '1.2', signalType: 'EELS', recordBy: 'spectrum', originalShape: [21] });
    // float64 counts as stored (the EMSA example spectrum)
    expect(c.data).toBeInstanceOf(Float64Array);
    expect(Array.from(c.data.slice(0, 4))).toEqual([4066, 3996, 3932, 3923]);
    expect(c.data[20]).toBe(4217);
  });

  it('example2_v3.1.hspy (format 3.1) holds a 16 × 16 diffraction pattern (2-D signal): a clear error', async () => {
    await expect(readHspy(fixtureBytes('hspy/example2_v3.1.hspy'), 'example2_v3.1.hspy')).rejects.toThrowError(
      /example2_v3\.1\.hspy: the file holds 'test_diffraction_pattern': data of shape \(16, 16\) with a 2-D image signal; axes y\* 16 \(1\/nm\), x\* 16 \(1\/nm\).*needs a signal with one \(energy \/ wavenumber\) axis.*as_signal1D/,
    );
  });

  it('a truncated file is an input error naming the file', async () => {
    const b = fixtureBytes('hspy/example2_v3.1.hspy');
    await expect(readHspy(b.subarray(0, 4000), 'cut.hspy')).rejects.toThrowError(/cut\.hspy: the HDF5 file is truncated: it has 4000 bytes but its superblock says 30376/);
    // a damaged superblock (same size): HDF5 refuses it
    const bad = b.slice();
    bad.fill(0xff, 8, 200);
    await expect(readHspy(bad, 'bad.hspy')).rejects.toThrowError(/bad\.hspy: .*(corrupt|truncated)/);
    await expect(readHspy(new TextEncoder().encode('not hdf5 at all'), 'text.hspy')).rejects.toThrowError(/text\.hspy: not an HDF5 file/);
  });
});

describe('HyperSpy HDF5 — synthetic EDX layouts', () => {
  const cube = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

  it('(y, x, E) with navigate flags → rows × cols × channels with axes', async () => {
    const bytes = await makeHspy({
      shape: [2, 3, 5],
      data: cube(30),
      axes: [
        { name: 'y', size: 2, offset: 0, scale: 2.5, units: 'nm', navigate: true },
        { name: 'x', size: 3, offset: 1, scale: 2.5, units: 'nm', navigate: true },
        { name: 'Energy', size: 5, offset: -0.2, scale: 0.01, units: 'keV', navigate: false },
      ],
      title: 'EDX map',
    });
    const c = await readHspy(bytes, 'edx.hspy');
    expect([c.rows, c.cols, c.channels]).toEqual([2, 3, 5]);
    expect(Array.from(c.data)).toEqual(Array.from(cube(30)));
    expect(c.signalAxis).toMatchObject({ name: 'Energy', offset: -0.2, scale: 0.01, units: 'keV' });
    expect(c.navigationAxes.map((a) => a.name)).toEqual(['y', 'x']);
    expect(c.title).toBe('EDX map');
    const { X, shape } = cubeToMatrix(c);
    expect(shape).toEqual({ rows: 2, cols: 3 });
    expect(X.data[2 * 6 + 4]).toBe(4 * 5 + 2);
  });

  it('a signal axis that is not last is moved last; 3 navigation axes give slices', async () => {
    const bytes = await makeHspy({
      shape: [4, 2, 3],
      data: cube(24),
      axes: [
        { name: 'E', size: 4, offset: 0, scale: 1, units: 'eV', navigate: false },
        { name: 'y', size: 2, offset: 0, scale: 1, units: '', navigate: true },
        { name: 'x', size: 3, offset: 0, scale: 1, units: '', navigate: true },
      ],
    });
    const c = await readHspy(bytes, 'eyx.hspy');
    expect([c.rows, c.cols, c.channels]).toEqual([2, 3, 4]);
    for (let p = 0; p < 6; p++) for (let e = 0; e < 4; e++) expect(c.data[p * 4 + e]).toBe(e * 6 + p);

    const b4 = await makeHspy({
      shape: [2, 2, 3, 4],
      data: cube(48),
      axes: [
        { name: 'z', size: 2, offset: 0, scale: 1, units: '', navigate: true },
        { name: 'y', size: 2, offset: 0, scale: 1, units: '', navigate: true },
        { name: 'x', size: 3, offset: 0, scale: 1, units: '', navigate: true },
        { name: 'E', size: 4, offset: 0, scale: 1, units: 'eV', navigate: false },
      ],
    });
    const d = await readHspy(b4, 'zyxe.hspy');
    expect([d.slices, d.rows, d.cols, d.channels]).toEqual([2, 2, 3, 4]);
    expect(() => cubeToMatrix(d)).toThrowError(/4-D .* choose one slice/);
    expect(cubeToMatrix(d, { slice: 1 }).X.data[0]).toBe(24);
    expect(cubeToMatrix(d, { slice: 'stack' }).shape).toEqual({ rows: 4, cols: 3 });
  });
});
