import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { main } from '../src/cli/main.js';
import { parseCommandLine } from '../src/cli/args.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { WebnmfError } from '../src/errors.js';

// ---- helpers ---------------------------------------------------------------------------------

class Sink {
  text = '';
  constructor(readonly isTTY = false) {}
  write = (s: string) => {
    this.text += s;
    return true;
  };
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], opts: { tty?: boolean; env?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Run> {
  const stdout = new Sink();
  const stderr = new Sink(opts.tty ?? false);
  const code = await main(argv, { stdout, stderr, env: opts.env ?? {}, signal: opts.signal ?? new AbortController().signal });
  return { code, out: stdout.text, err: stderr.text };
}

/** A deterministic LCG in [0, 1). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const N = 24; // channels
const ROWS = 6;
const COLS = 5;
const P = ROWS * COLS;
const K = 2;

/** X = round(30 · D H) with two Gaussian spectra and smooth complementary maps (channels × pixels). */
function makeX(): Float64Array {
  const X = new Float64Array(N * P);
  const rnd = lcg(7);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const p = r * COLS + c;
      const h0 = (c + 0.5) / COLS;
      for (let i = 0; i < N; i++) {
        const d0 = Math.exp(-((i - 6) ** 2) / 8);
        const d1 = Math.exp(-((i - 16) ** 2) / 10);
        X[i * P + p] = Math.round(30 * (h0 * d0 + (1 - h0) * d1) + 2 * rnd());
      }
    }
  }
  return X;
}

/** G: 6 Gaussian peaks over the channels (channels × 6). */
function makeG(): Float64Array {
  const m = 6;
  const G = new Float64Array(N * m);
  for (let i = 0; i < N; i++) for (let j = 0; j < m; j++) G[i * m + j] = Math.exp(-((i - (2 + 4 * j)) ** 2) / 6) + 1e-3;
  return G;
}

let dir: string;
const f = (name: string) => path.join(dir, name);
const readNpy = (file: string) => parseNpy(fs.readFileSync(file), file);
/** Everything in the temp dir except the inputs written in beforeAll. */
let inputs: string[];
const leftovers = () => fs.readdirSync(dir).filter((n) => !inputs.includes(n));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webnmf-cli-'));
  const X = makeX();
  fs.writeFileSync(f('X.npy'), encodeNpy({ shape: [N, P], data: X }));
  // The same data as rows × cols × channels (HyperSpy's layout).
  const cube = new Float64Array(N * P);
  for (let p = 0; p < P; p++) for (let i = 0; i < N; i++) cube[p * N + i] = X[i * P + p]!;
  fs.writeFileSync(f('cube.npy'), encodeNpy({ shape: [ROWS, COLS, N], data: cube }));
  fs.writeFileSync(f('G.npy'), encodeNpy({ shape: [N, 6], data: makeG() }));
  const Xnan = X.slice();
  Xnan[5] = NaN;
  fs.writeFileSync(f('Xnan.npy'), encodeNpy({ shape: [N, P], data: Xnan }));
  fs.writeFileSync(f('corrupt.npy'), encodeNpy({ shape: [N, P], data: X }).subarray(0, 300));
  fs.writeFileSync(f('vector.npy'), encodeNpy({ shape: [N], data: new Float64Array(N) }));
  fs.writeFileSync(f('text.npy'), 'channel,value\n1,2\n');
  inputs = fs.readdirSync(dir);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---- the argument parser ---------------------------------------------------------------------

describe('parseCommandLine', () => {
  it('maps every fit flag', () => {
    const c = parseCommandLine([
      'fit', 'X.npy', '--components', '3', '--g', 'G.npy', '--shape', '10x20', '--lambda', '2', '--mu', '0.1,0.2,0',
      '--epsilon-reg=0.5', '--simplex', 'h', '--normalize', '--init', 'random', '--max-iter', '50', '--tol', '1e-5',
      '--no-stop', '--loss-every', '5', '--snapshots', '1,10,200', '--seed', '4', '--backend', 'cpu', '--out', 'o',
      '--quiet', '--loss', 'kl', '--simplex-solver', 'espm', '--majorizer', 'tight',
    ]);
    expect(c).toEqual({
      command: 'fit',
      args: {
        input: 'X.npy', components: 3, g: 'G.npy', shape: { rows: 10, cols: 20 }, lambda: 2, mu: [0.1, 0.2, 0],
        epsilonReg: 0.5, simplex: 'h', normalize: true, init: 'random', maxIter: 50, tol: 1e-5, noStop: true,
        lossEvery: 5, snapshots: [1, 10, 200], seed: 4, backend: 'cpu', out: 'o', quiet: true, loss: 'kl', simplexSolver: 'espm', majorizer: 'tight',
      },
    });
  });

  it('help and version', () => {
    expect(parseCommandLine([])).toEqual({ command: 'help', topic: 'main' });
    expect(parseCommandLine(['--help'])).toEqual({ command: 'help', topic: 'main' });
    expect(parseCommandLine(['fit', '--help'])).toEqual({ command: 'help', topic: 'fit' });
    expect(parseCommandLine(['fit', 'X.npy', '-h'])).toEqual({ command: 'help', topic: 'fit' });
    expect(parseCommandLine(['example', '--help'])).toEqual({ command: 'help', topic: 'example' });
    expect(parseCommandLine(['--version'])).toEqual({ command: 'version' });
  });

  const bad: [string[], RegExp][] = [
    [['fit', 'X.npy', '--components', 'abc'], /--components: 'abc' is not a positive integer/],
    [['fit', 'X.npy', '--components', '0'], /--components: '0' is not a positive integer/],
    [['fit', 'X.npy', '--components', '2.5'], /not a positive integer/],
    [['fit', 'X.npy', '--components'], /--components needs a value \(K\)/],
    [['fit', 'X.npy', '--components', '--lambda', '1'], /--components needs a value/],
    [['fit', 'X.npy', '--components', '2', '--lambda', 'x'], /--lambda: 'x' is not a number/],
    [['fit', 'X.npy', '--components', '2', '--lambda', '-1'], /--lambda: -1 is out of range; it must be ≥ 0/],
    [['fit', 'X.npy', '--components', '2', '--lambda', 'Infinity'], /not a number/],
    [['fit', 'X.npy', '--components', '2', '--epsilon-reg', '0'], /must be > 0/],
    [['fit', 'X.npy', '--components', '2', '--mu', '0.1,,2'], /empty item/],
    [['fit', 'X.npy', '--components', '2', '--snapshots', '1,0'], /--snapshots: '0' is not a positive integer/],
    [['fit', 'X.npy', '--components', '2', '--shape', '10by20'], /--shape: '10by20' is not an image shape; write ROWSxCOLS/],
    [['fit', 'X.npy', '--components', '2', '--simplex', 'x'], /--simplex: 'x' is not one of 'h', 'w', 'none'/],
    [['fit', 'X.npy', '--components', '2', '--componets', '3'], /unknown option '--componets' .*Did you mean '--components'\?/],
    [['fit', 'X.npy', '--components', '2', '--normalize=yes'], /takes no value/],
    [['fit', 'X.npy', '--components', '2', '--components', '3'], /more than once/],
    [['fit', 'X.npy', '--components', '2', '-x', '3'], /unknown option '-x'/],
    [['fit', 'X.npy', '--components', '2', '-k', '3'], /--components is given more than once/],
    [['fit', '--components', '2'], /needs the data file/],
    [['fit', 'a.npy', 'b.npy', '--components', '2'], /takes one data file, got 2/],
    [['fit', 'X.npy'], /--components K is required/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frob'], /unknown option '--frob'/],
    [['example', 'x'], /takes no file arguments/],
  ];
  for (const [argv, re] of bad) {
    it(`rejects ${argv.join(' ')}`, () => {
      let err: unknown;
      try {
        parseCommandLine(argv);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WebnmfError);
      expect((err as WebnmfError).kind).toBe('usage');
      expect((err as WebnmfError).message).toMatch(re);
    });
  }
});

// ---- main, in-process ------------------------------------------------------------------------

describe('webnmf fit', () => {
  it('writes W, H, D, the snapshots and report.json with the right shapes', async () => {
    const out = f('out-plain');
    const r = await run(['fit', f('X.npy'), '--components', '2', '--max-iter', '30', '--no-stop', '--snapshots', '1,10', '--backend', 'cpu', '--out', out, '--quiet']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(fs.readdirSync(out).sort()).toEqual(
      ['D.npy', 'H.npy', 'H_it0001.npy', 'H_it0010.npy', 'W.npy', 'W_it0001.npy', 'W_it0010.npy', 'report.json'].sort(),
    );
    expect(readNpy(path.join(out, 'W.npy')).shape).toEqual([N, K]);
    expect(readNpy(path.join(out, 'H.npy')).shape).toEqual([K, P]);
    expect(readNpy(path.join(out, 'D.npy')).shape).toEqual([N, K]);
    expect(readNpy(path.join(out, 'H_it0010.npy')).shape).toEqual([K, P]);
    expect(readNpy(path.join(out, 'W_it0001.npy')).shape).toEqual([N, K]);
    const H = readNpy(path.join(out, 'H.npy')).data;
    expect(H.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.result.iterations).toBe(30);
    expect(report.result.stopReason).toBe('max_iter');
    expect(report.result.backend).toBe('cpu');
    expect(typeof report.result.backendInfo).toBe('string');
    expect(report.result.iterationsPerSecond).toBeGreaterThan(0);
    expect(report.result.losses.length).toBeGreaterThan(1);
    expect(Object.keys(report.result.losses[1])).toEqual(expect.arrayContaining(['iteration', 'full', 'kl', 'logReg', 'laplacian']));
    expect(report.parameters).toMatchObject({ components: 2, maxIter: 30, noStop: true, snapshots: [1, 10], backend: 'cpu', lambda: 0 });
    expect(report.inputs.X).toEqual({ file: f('X.npy'), shape: [N, P], dtype: '<f8', layout: 'channels×pixels' });
    expect(report.webnmf.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.outputs['H.npy']).toEqual([K, P]);
    // No staging directories or temp files next to the output.
    expect(leftovers()).toEqual(['out-plain']);
  });

  it('prints a one-line summary when stderr is not a TTY, a progress bar when it is', async () => {
    const plain = await run(['fit', f('X.npy'), '--components', '2', '--max-iter', '20', '--backend', 'cpu', '--out', f('out-summary')]);
    expect(plain.code).toBe(0);
    expect(plain.err).toBe('');
    expect(plain.out.trim().split('\n')).toHaveLength(1);
    expect(plain.out).toMatch(/iterations .* it\/s.*wrote \d+ files to/);
    const tty = await run(['fit', f('X.npy'), '--components', '2', '--max-iter', '20', '--no-stop', '--backend', 'cpu', '--out', f('out-summary')], { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(/\r.*20\/20 +loss .* it\/s/);
    const quiet = await run(['fit', f('X.npy'), '--components', '2', '--max-iter', '20', '--backend', 'cpu', '--out', f('out-summary'), '--quiet'], { tty: true });
    expect(quiet.out + quiet.err).toBe('');
    fs.rmSync(f('out-summary'), { recursive: true });
  });

  it('reads a rows × cols × channels cube as channels × pixels with its own shape', async () => {
    const common = ['--components', '2', '--max-iter', '25', '--no-stop', '--backend', 'cpu', '--lambda', '1', '--quiet'];
    const a = await run(['fit', f('cube.npy'), ...common, '--out', f('out-cube')]);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const b = await run(['fit', f('X.npy'), ...common, '--shape', `${ROWS}x${COLS}`, '--out', f('out-2d')]);
    expect(b.code).toBe(0);
    const Ha = readNpy(path.join(f('out-cube'), 'H.npy'));
    const Hb = readNpy(path.join(f('out-2d'), 'H.npy'));
    expect(Ha.shape).toEqual([K, P]);
    expect(Array.from(Ha.data)).toEqual(Array.from(Hb.data));
    const report = JSON.parse(fs.readFileSync(path.join(f('out-cube'), 'report.json'), 'utf8'));
    expect(report.problem).toEqual({ channels: N, pixels: P, shape: { rows: ROWS, cols: COLS } });
    expect(report.inputs.X.layout).toBe('rows×cols×channels');
    // --shape that disagrees with the cube
    const c = await run(['fit', f('cube.npy'), ...common, '--shape', '5x6', '--out', f('out-bad')]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--shape 5x6 disagrees with the file, which is 6 rows × 5 cols × 24 channels/);
    fs.rmSync(f('out-cube'), { recursive: true });
    fs.rmSync(f('out-2d'), { recursive: true });
    expect(leftovers()).toEqual(['out-plain']);
  });

  it('fits with G, λ, μ per component, simplex on H', async () => {
    const out = f('out-g');
    const r = await run([
      'fit', f('X.npy'), '--components', '2', '--g', f('G.npy'), '--shape', `${ROWS}x${COLS}`, '--lambda', '2', '--mu', '0.05,0.1',
      '--simplex', 'h', '--normalize', '--max-iter', '20', '--backend', 'cpu', '--out', out, '--quiet', '--majorizer', 'tight', '--extrapolation', '0.5',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readNpy(path.join(out, 'W.npy')).shape).toEqual([6, K]);
    expect(readNpy(path.join(out, 'D.npy')).shape).toEqual([N, K]);
    const H = readNpy(path.join(out, 'H.npy')).data;
    for (let p = 0; p < P; p++) expect(H[p]! + H[P + p]!).toBeCloseTo(1, 6);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.inputs.G).toEqual({ file: f('G.npy'), shape: [N, 6], dtype: '<f8' });
    expect(report.parameters).toMatchObject({ lambda: 2, mu: [0.05, 0.1], simplex: 'h', normalize: true, G: [N, 6], majorizer: 'tight', extrapolation: 0.5 });
    fs.rmSync(out, { recursive: true });
  });

  it('accepts a custom start from --w0/--h0', async () => {
    const W0 = new Float64Array(N * K).fill(1);
    const H0 = new Float64Array(K * P).fill(0.5);
    fs.writeFileSync(f('W0.npy'), encodeNpy({ shape: [N, K], data: W0 }));
    fs.writeFileSync(f('H0.npy'), encodeNpy({ shape: [K, P], data: H0 }));
    try {
      const r = await run(['fit', f('X.npy'), '--components', '2', '--w0', f('W0.npy'), '--h0', f('H0.npy'), '--max-iter', '5', '--backend', 'cpu', '--out', f('out-w0'), '--quiet']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(fs.readFileSync(path.join(f('out-w0'), 'report.json'), 'utf8'));
      expect(report.parameters.init).toBe('custom');
      expect(report.inputs.W0.shape).toEqual([N, K]);
    } finally {
      for (const n of ['W0.npy', 'H0.npy', 'out-w0']) fs.rmSync(f(n), { recursive: true, force: true });
    }
  });

  describe('bad input: exit 2, a message naming the problem, nothing written', () => {
    const cases: [string, () => string[], RegExp[]][] = [
      ['unknown flag', () => ['fit', f('X.npy'), '--components', '2', '--lamda', '1'], [/unknown option '--lamda'/, /Did you mean '--lambda'/]],
      ['bad number', () => ['fit', f('X.npy'), '--components', 'abc'], [/--components: 'abc' is not a positive integer/]],
      ['zero components', () => ['fit', f('X.npy'), '--components', '0'], [/--components: '0'/]],
      ['missing file', () => ['fit', f('nope.npy'), '--components', '2'], [/nope\.npy/, /no such file/]],
      ['missing G file', () => ['fit', f('X.npy'), '--components', '2', '--g', f('noG.npy')], [/noG\.npy/, /no such file/]],
      ['corrupt npy (truncated)', () => ['fit', f('corrupt.npy'), '--components', '2'], [/corrupt\.npy/, /truncated/]],
      ['not an npy file', () => ['fit', f('text.npy'), '--components', '2'], [/text\.npy/, /not a \.npy file/]],
      ['1-D X', () => ['fit', f('vector.npy'), '--components', '2'], [/vector\.npy/, /2-D \(channels × pixels\) or 3-D/]],
      ['shape mismatch', () => ['fit', f('X.npy'), '--components', '2', '--shape', '4x4'], [/4/, /30|pixels/]],
      ['--simplex w without --g', () => ['fit', f('X.npy'), '--components', '2', '--simplex', 'w'], [/simplex/i, /\bG\b|--g/]],
      ['λ > 0 without a shape', () => ['fit', f('X.npy'), '--components', '2', '--lambda', '1'], [/--lambda 1 .* needs the image shape of the 30 pixels: add --shape ROWSxCOLS/]],
      ['NaN in X', () => ['fit', f('Xnan.npy'), '--components', '2'], [/NaN|not finite|non-finite/i]],
      ['--w0 without --h0', () => ['fit', f('X.npy'), '--components', '2', '--w0', f('X.npy')], [/--w0 .* without --h0/]],
      ['--init custom without a start', () => ['fit', f('X.npy'), '--components', '2', '--init', 'custom'], [/--init custom needs the start/]],
      ['G of the wrong size', () => ['fit', f('cube.npy'), '--components', '2', '--g', f('cube.npy')], [/cube\.npy/, /G .*2-D/]],
      ['too many components', () => ['fit', f('X.npy'), '--components', '500'], [/500|components/]],
      ['--extrapolation 1', () => ['fit', f('X.npy'), '--components', '2', '--extrapolation', '1'], [/extrapolation/, /from 0 up to \(not including\) 1/]],
      ['--extrapolation with --simplex w', () => ['fit', f('X.npy'), '--components', '2', '--g', f('G.npy'), '--simplex', 'w', '--extrapolation', '0.5'], [/extrapolation.*simplex 'w'|simplex w/]],
    ];
    for (const [name, argv, res] of cases) {
      it(name, async () => {
        const out = f('out-should-not-exist');
        const r = await run([...argv(), '--max-iter', '5', '--backend', 'cpu', '--out', out]);
        expect(r.code, r.err).toBe(2);
        expect(r.out).toBe('');
        const lines = r.err.trim().split('\n');
        expect(lines[0]).toMatch(/^webnmf: error: /);
        for (const re of res) expect(lines[0]).toMatch(re);
        expect(lines[1]).toBe("hint: run 'webnmf fit --help' for the options");
        expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
        expect(fs.existsSync(out)).toBe(false);
        expect(leftovers()).toEqual(['out-plain']);
      });
    }
  });

  it('--out that is a file is an input error before any work', async () => {
    const r = await run(['fit', f('X.npy'), '--components', '2', '--out', f('X.npy')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exists and is not a directory/);
  });

  it('WEBNMF_DEBUG=1 adds the stack trace', async () => {
    const r = await run(['fit', f('nope.npy'), '--components', '2'], { env: { WEBNMF_DEBUG: '1' } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\n\s+at /);
  });

  it('an abort (Ctrl-C) stops the fit, writes nothing and exits 130', async () => {
    const ac = new AbortController();
    ac.abort(new Error('interrupted by Ctrl-C'));
    const out = f('out-aborted');
    const r = await run(['fit', f('X.npy'), '--components', '2', '--max-iter', '50', '--backend', 'cpu', '--out', out], { signal: ac.signal });
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/interrupted.*nothing was written/);
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers()).toEqual(['out-plain']);
  });
});

describe('webnmf help, version', () => {
  it('prints help for each command and the version', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/webnmf fit X\.npy --components K/);
    const fh = await run(['fit', '--help']);
    expect(fh.code).toBe(0);
    for (const flag of ['--components', '--g', '--shape', '--lambda', '--mu', '--epsilon-reg', '--simplex', '--normalize', '--init', '--w0', '--h0',
      '--max-iter', '--tol', '--no-stop', '--loss-every', '--snapshots', '--seed', '--backend', '--out', '--quiet', '--loss', '--simplex-solver', '--majorizer', '--extrapolation']) {
      expect(fh.out).toContain(flag);
    }
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(v.out).toBe(`webnmf ${pkg.version}\n`);
    const bad = await run(['fit']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^webnmf: error: .*needs the data file.*\nhint: run 'webnmf fit --help' for the options\n$/);
  });
});

describe('webnmf example', () => {
  it('writes the data, the fit, PNG maps, the SVG spectra and a report, in seconds', async () => {
    const out = f('example');
    const t0 = performance.now();
    const r = await run(['example', '--out', out, '--backend', 'cpu']);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const files = fs.readdirSync(out).sort();
    for (const name of ['X.npy', 'G.npy', 'W.npy', 'H.npy', 'D.npy', 'report.json', 'maps.png', 'map_0.png', 'map_1.png', 'map_2.png', 'spectra.svg']) {
      expect(files).toContain(name);
    }
    const X = readNpy(path.join(out, 'X.npy'));
    expect(X.shape).toEqual([200, 32 * 32]);
    const png = PNG.sync.read(fs.readFileSync(path.join(out, 'maps.png')));
    expect(png.height).toBe(256);
    expect(png.width).toBeGreaterThan(3 * 256);
    const map0 = PNG.sync.read(fs.readFileSync(path.join(out, 'map_0.png')));
    expect([map0.width, map0.height]).toEqual([256, 256]);
    const colours = new Set<number>();
    for (let i = 0; i < map0.data.length; i += 4) colours.add((map0.data[i]! << 16) | (map0.data[i + 1]! << 8) | map0.data[i + 2]!);
    expect(colours.size).toBeGreaterThan(20);
    const svg = fs.readFileSync(path.join(out, 'spectra.svg'), 'utf8');
    expect(svg.match(/<path /g)?.length).toBe(6);
    expect(svg).toContain('Energy (keV)');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.comparison.spectralAngleDeg).toHaveLength(3);
    // The example should recover the phases well.
    expect(report.comparison.meanSpectralAngleDeg).toBeLessThan(10);
    expect(r.out).toMatch(/spectral angle/);
    expect(seconds).toBeLessThan(60);
    fs.rmSync(out, { recursive: true });
  });
});
