/** Builds small HDF5 files in h5wasm's memory file system for tests (HyperSpy layout). */
import h5wasm from 'h5wasm';

interface Fs {
  readFile(path: string): Uint8Array;
  unlink(path: string): void;
}

export interface TestAxis {
  name: string;
  size: number;
  offset: number;
  scale: number;
  units: string;
  navigate?: boolean;
}

let n = 0;

/** A HyperSpy file with one experiment: `data` (float32, C order) of `shape` and its axes. */
export async function makeHspy(opts: {
  shape: number[];
  data: Float32Array;
  axes: TestAxis[];
  title?: string;
  version?: string;
  recordBy?: string;
  experiment?: string;
}): Promise<Uint8Array> {
  const mod = await h5wasm.ready;
  const fs = (mod as unknown as { FS: Fs }).FS;
  const path = `/make-h5-${++n}.h5`;
  const f = new h5wasm.File(path, 'w');
  f.create_attribute('file_format', 'HyperSpy');
  f.create_attribute('file_format_version', opts.version ?? '3.1');
  const g = f.create_group('Experiments').create_group(opts.experiment ?? 'test');
  g.create_dataset({ name: 'data', data: opts.data, shape: opts.shape });
  opts.axes.forEach((a, i) => {
    const ag = g.create_group(`axis-${i}`);
    ag.create_attribute('name', a.name);
    ag.create_attribute('size', a.size);
    ag.create_attribute('offset', a.offset);
    ag.create_attribute('scale', a.scale);
    ag.create_attribute('units', a.units);
    if (a.navigate !== undefined) ag.create_attribute('navigate', a.navigate ? 1 : 0);
  });
  const md = g.create_group('metadata');
  const gen = md.create_group('General');
  gen.create_attribute('title', opts.title ?? 'synthetic');
  const sig = md.create_group('Signal');
  sig.create_attribute('signal_type', 'EDS_TEM');
  if (opts.recordBy) sig.create_attribute('record_by', opts.recordBy);
  f.close();
  const bytes = fs.readFile(path).slice();
  fs.unlink(path);
  return bytes;
}
