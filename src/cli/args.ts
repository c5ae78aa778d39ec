/**
 * Command-line syntax of `webnmf`: one declarative flag table per command, a parser that turns
 * argv into typed values, and the help texts. Only syntax is checked here (unknown flags, missing
 * values, numbers that are not numbers, integers that must be positive); the model's own rules
 * are the estimator's.
 */
import { usageError } from '../errors.js';
import type { BackendName, ImageShape, InitMethod, LossKind, Majorizer, SimplexMode, SimplexSolver } from '../types.js';

type FlagType =
  | { kind: 'bool' }
  | { kind: 'string'; metavar: string }
  | { kind: 'int'; metavar: string; min: number }
  | { kind: 'number'; metavar: string; min?: number; exclusiveMin?: boolean }
  | { kind: 'numberList'; metavar: string; min: number }
  | { kind: 'intList'; metavar: string; min: number }
  | { kind: 'shape'; metavar: string }
  | { kind: 'enum'; values: readonly string[] };

export interface FlagSpec {
  readonly name: string; // without the leading '--'
  readonly key: string; // property of the parsed object
  readonly type: FlagType;
  readonly help: string;
}

const BACKEND_FLAG: FlagSpec = {
  name: 'backend',
  key: 'backend',
  type: { kind: 'enum', values: ['cpu', 'webgpu', 'auto'] },
  help: "where to compute: 'cpu' (float64 reference), 'webgpu' or 'auto' (WebGPU when an adapter exists). Default auto",
};
const QUIET_FLAG: FlagSpec = { name: 'quiet', key: 'quiet', type: { kind: 'bool' }, help: 'print nothing but errors' };
const HELP_FLAG: FlagSpec = { name: 'help', key: 'help', type: { kind: 'bool' }, help: 'show this help' };

const majorizerFlag = (dflt: string): FlagSpec => ({
  name: 'majorizer',
  key: 'majorizer',
  type: { kind: 'enum', values: ['espm', 'tight'] },
  help: `the H step's bound of the Laplacian term: 'espm' (ESPM's iterates) or 'tight' (same objective and fixed points, 2–7× fewer iterations when λ > 0). Default ${dflt}`,
});

const extrapolationFlag = (dflt: string): FlagSpec => ({
  name: 'extrapolation',
  key: 'extrapolation',
  type: { kind: 'number', metavar: 'B', min: 0 },
  help: `extrapolation β, 0 ≤ β < 1: each iteration starts from W ∘ (W / W_prev)^β, H ∘ (H / H_prev)^β (same fixed points, sampled iterates plain; not with --simplex w, and with λ > 0 only with --majorizer tight). Default ${dflt}`,
});

export const FIT_FLAGS: readonly FlagSpec[] = [
  { name: 'components', key: 'components', type: { kind: 'int', metavar: 'K', min: 1 }, help: 'number of components k (required)' },
  { name: 'g', key: 'g', type: { kind: 'string', metavar: 'G.npy' }, help: 'known matrix G, channels × m (D = G W); absent: D = W' },
  {
    name: 'shape',
    key: 'shape',
    type: { kind: 'shape', metavar: 'ROWSxCOLS' },
    help: 'image shape of the pixels (rows × cols = pixels); required with --lambda > 0 for 2-D input',
  },
  { name: 'lambda', key: 'lambda', type: { kind: 'number', metavar: 'L', min: 0 }, help: 'Laplacian smoothness weight λ. Default 0' },
  {
    name: 'mu',
    key: 'mu',
    type: { kind: 'numberList', metavar: 'M[,M...]', min: 0 },
    help: 'log-sparsity weight μ: one value, or one per component. Default 0',
  },
  {
    name: 'epsilon-reg',
    key: 'epsilonReg',
    type: { kind: 'number', metavar: 'E', min: 0, exclusiveMin: true },
    help: 'ε_reg, the slope of the log penalty at 0. Default 1',
  },
  { name: 'simplex', key: 'simplex', type: { kind: 'enum', values: ['h', 'w', 'none'] }, help: "simplex constraint on H (per pixel), on W (needs --g) or none. Default none" },
  { name: 'normalize', key: 'normalize', type: { kind: 'bool' }, help: "scale X so the mean pixel sum is k (ESPM's normalize)" },
  {
    name: 'init',
    key: 'init',
    type: { kind: 'enum', values: ['nndsvda', 'nndsvd', 'nndsvdar', 'random', 'custom'] },
    help: 'initialisation. Default nndsvda (custom when --w0/--h0 are given)',
  },
  { name: 'w0', key: 'w0', type: { kind: 'string', metavar: 'W0.npy' }, help: 'custom start W0, m × k (with --h0)' },
  { name: 'h0', key: 'h0', type: { kind: 'string', metavar: 'H0.npy' }, help: 'custom start H0, k × pixels (with --w0)' },
  { name: 'max-iter', key: 'maxIter', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'maximum number of iterations. Default 200' },
  { name: 'tol', key: 'tol', type: { kind: 'number', metavar: 'T', min: 0 }, help: 'stopping tolerance. Default 1e-4' },
  { name: 'no-stop', key: 'noStop', type: { kind: 'bool' }, help: 'run exactly --max-iter iterations' },
  { name: 'loss-every', key: 'lossEvery', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'sample the loss every N iterations. Default 10' },
  {
    name: 'snapshots',
    key: 'snapshots',
    type: { kind: 'intList', metavar: 'I[,I...]', min: 1 },
    help: 'iterations (1-based) whose raw iterates are saved as W_itNNNN.npy / H_itNNNN.npy',
  },
  { name: 'seed', key: 'seed', type: { kind: 'int', metavar: 'S', min: 0 }, help: "seed of 'random' and 'nndsvdar' init. Default 0" },
  BACKEND_FLAG,
  { name: 'out', key: 'out', type: { kind: 'string', metavar: 'DIR' }, help: 'output directory. Default webnmf-out' },
  QUIET_FLAG,
  { name: 'loss', key: 'loss', type: { kind: 'enum', values: ['kl', 'frobenius'] }, help: 'generalised KL (Poisson) or Frobenius. Default kl' },
  {
    name: 'simplex-solver',
    key: 'simplexSolver',
    type: { kind: 'enum', values: ['exact', 'espm'] },
    help: "simplex multiplier solver: 'exact' per pixel or ESPM's lock-step bisection. Default exact",
  },
  majorizerFlag('espm'),
  extrapolationFlag('0 (ESPM\'s iterates)'),
  HELP_FLAG,
];

export const EXAMPLE_FLAGS: readonly FlagSpec[] = [
  { name: 'out', key: 'out', type: { kind: 'string', metavar: 'DIR' }, help: 'output directory. Default webnmf-example' },
  BACKEND_FLAG,
  QUIET_FLAG,
  HELP_FLAG,
];

export const AUTO_FLAGS: readonly FlagSpec[] = [
  {
    name: 'components',
    key: 'components',
    type: { kind: 'intList', metavar: 'K[,K...]', min: 1 },
    help: 'number of components k, or candidates to choose k from by held-out deviance (required)',
  },
  { name: 'g', key: 'g', type: { kind: 'string', metavar: 'G.npy' }, help: 'known matrix G, channels × m (D = G W); absent: D = W' },
  {
    name: 'shape',
    key: 'shape',
    type: { kind: 'shape', metavar: 'ROWSxCOLS' },
    help: 'image shape of the pixels; required for 2-D input (a 3-D file carries its own)',
  },
  {
    name: 'bin',
    key: 'bin',
    type: { kind: 'int', metavar: 'B', min: 1 },
    help: 'spatial bin factor (sum of B × B pixel blocks). Default: chosen from the data by an unbiased Poisson risk',
  },
  { name: 'channel-bin', key: 'channelBin', type: { kind: 'int', metavar: 'C', min: 1 }, help: 'sum groups of C channels in the binned stages. Default 1' },
  {
    name: 'start-bin',
    key: 'startBin',
    type: { kind: 'int', metavar: 'S', min: 1 },
    help: 'where the bin is 1, the fine-tune still starts from an S × S-binned coarse start (one binned iteration, upsampled); 1 turns it off. Default 2 on the CPU and software WebGPU, 1 on GPUs',
  },
  {
    name: 'lambdas',
    key: 'lambdas',
    type: { kind: 'numberList', metavar: 'L[,L...]', min: 0 },
    help: 'λ grid at the binned level (λ_full = b^2.5 λ_binned). Default 0,0.1,0.316,1,3.16,10',
  },
  { name: 'mus', key: 'mus', type: { kind: 'numberList', metavar: 'M[,M...]', min: 0 }, help: 'μ grid (the same at both levels). Default 0,0.1,1' },
  { name: 'no-refine', key: 'noRefine', type: { kind: 'bool' }, help: 'skip the second batch refining around the best grid point (log-midpoints to its grid neighbours, never past the grid ends)' },
  {
    name: 'weight-rule',
    key: 'weightRule',
    type: { kind: 'enum', values: ['one-se', 'best'] },
    help: 'how λ, μ are chosen from the held-out scores: the most regularised within one standard error of the best (one-se) or the best. Default one-se',
  },
  { name: 'splits', key: 'splits', type: { kind: 'int', metavar: 'S', min: 1 }, help: 'independent count splits (2 folds each). Default 1' },
  { name: 'tune-iter', key: 'tuneMaxIter', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'iterations of each tuning candidate (fixed budget, after shared warm-start iterations per fold: 50 for one k, 100 for several). Default 100 for one k, 300 when choosing k' },
  {
    name: 'epsilon-reg',
    key: 'epsilonReg',
    type: { kind: 'number', metavar: 'E', min: 0, exclusiveMin: true },
    help: 'ε_reg, the slope of the log penalty at 0. Default 1',
  },
  majorizerFlag('tight'),
  extrapolationFlag('0.7 with the tight step, else 0 (binned fit and fine-tune; the tuning never extrapolates)'),
  { name: 'max-iter', key: 'maxIter', type: { kind: 'int', metavar: 'N', min: 1 }, help: 'iteration cap of the full-resolution fine-tune. Default 2000' },
  {
    name: 'tol',
    key: 'tol',
    type: { kind: 'number', metavar: 'T', min: 0 },
    help: 'fine-tune stops when the mean relative loss change per iteration (sampled every 10) is below T. Default 1e-6',
  },
  { name: 'seed', key: 'seed', type: { kind: 'int', metavar: 'S', min: 0 }, help: 'seed of the count splits and the init. Default 0' },
  BACKEND_FLAG,
  { name: 'out', key: 'out', type: { kind: 'string', metavar: 'DIR' }, help: 'output directory. Default webnmf-auto' },
  QUIET_FLAG,
  HELP_FLAG,
];

export interface AutoArgs {
  input: string;
  components: number[];
  g?: string;
  shape?: ImageShape;
  bin?: number;
  channelBin?: number;
  startBin?: number;
  lambdas?: number[];
  mus?: number[];
  noRefine?: boolean;
  weightRule?: 'one-se' | 'best';
  splits?: number;
  tuneMaxIter?: number;
  epsilonReg?: number;
  majorizer?: Majorizer;
  extrapolation?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  backend?: BackendName;
  out?: string;
  quiet?: boolean;
}

export interface FitArgs {
  input: string;
  components: number;
  g?: string;
  shape?: ImageShape;
  lambda?: number;
  mu?: number[];
  epsilonReg?: number;
  simplex?: SimplexMode;
  normalize?: boolean;
  init?: InitMethod;
  w0?: string;
  h0?: string;
  maxIter?: number;
  tol?: number;
  noStop?: boolean;
  lossEvery?: number;
  snapshots?: number[];
  seed?: number;
  backend?: BackendName;
  out?: string;
  quiet?: boolean;
  loss?: LossKind;
  simplexSolver?: SimplexSolver;
  majorizer?: Majorizer;
  extrapolation?: number;
}

export interface ExampleArgs {
  out?: string;
  backend?: BackendName;
  quiet?: boolean;
}

export type Command =
  | { command: 'help'; topic: 'main' | 'fit' | 'example' | 'auto' }
  | { command: 'version' }
  | { command: 'fit'; args: FitArgs }
  | { command: 'example'; args: ExampleArgs }
  | { command: 'auto'; args: AutoArgs };

const editDistance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
};

function suggest(name: string, flags: readonly FlagSpec[]): string {
  const best = flags
    .map((f) => ({ f, d: editDistance(name, f.name) }))
    .filter(({ f, d }) => d <= Math.max(1, Math.floor(f.name.length / 3)) || f.name.startsWith(name))
    .sort((a, b) => a.d - b.d)[0];
  return best ? ` Did you mean '--${best.f.name}'?` : '';
}

const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function parseNumber(flag: string, raw: string, min?: number, exclusiveMin?: boolean): number {
  if (!NUMBER_RE.test(raw.trim())) throw usageError(`--${flag}: '${raw}' is not a number. Give a decimal number such as 0.5 or 1e-3.`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw usageError(`--${flag}: '${raw}' is not a finite number.`);
  if (min !== undefined && (exclusiveMin ? v <= min : v < min)) {
    throw usageError(`--${flag}: ${raw} is out of range; it must be ${exclusiveMin ? '>' : '≥'} ${min}.`);
  }
  return v;
}

function parseInt_(flag: string, raw: string, min: number): number {
  const t = raw.trim();
  if (!/^[-+]?\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) < min) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`;
    throw usageError(`--${flag}: '${raw}' is not ${what}.`);
  }
  return Number(t);
}

function parseValue(spec: FlagSpec, raw: string): unknown {
  const t = spec.type;
  switch (t.kind) {
    case 'bool':
      return true;
    case 'string':
      if (raw === '') throw usageError(`--${spec.name}: the value is empty; give ${t.metavar}.`);
      return raw;
    case 'int':
      return parseInt_(spec.name, raw, t.min);
    case 'number':
      return parseNumber(spec.name, raw, t.min, t.exclusiveMin);
    case 'numberList':
    case 'intList': {
      const parts = raw.split(',');
      if (parts.some((p) => p.trim() === '')) {
        throw usageError(`--${spec.name}: '${raw}' has an empty item; give a comma-separated list like ${t.metavar.replace(/\[.*$/, '')},… without spaces.`);
      }
      return parts.map((p) => (t.kind === 'intList' ? parseInt_(spec.name, p, t.min) : parseNumber(spec.name, p, t.min)));
    }
    case 'shape': {
      const m = /^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$/.exec(raw);
      const rows = m ? Number(m[1]) : NaN;
      const cols = m ? Number(m[2]) : NaN;
      if (!m || !(rows > 0) || !(cols > 0)) {
        throw usageError(`--${spec.name}: '${raw}' is not an image shape; write ROWSxCOLS with positive integers, e.g. 64x128.`);
      }
      return { rows, cols };
    }
    case 'enum':
      if (!t.values.includes(raw)) {
        throw usageError(`--${spec.name}: '${raw}' is not one of ${t.values.map((v) => `'${v}'`).join(', ')}.`);
      }
      return raw;
  }
}

/** Parses the flags of one command; returns the values by key and the positional arguments. */
/** The one-letter spellings users type from habit (scikit-learn's k, most tools' -o and -q). */
const SHORT_FLAGS: Readonly<Record<string, string>> = { '-k': 'components', '-o': 'out', '-q': 'quiet' };

export function parseFlags(argv: readonly string[], flags: readonly FlagSpec[], command: string) {
  const values: Record<string, unknown> = {};
  const positional: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const typed = argv[i++]!;
    const long = SHORT_FLAGS[typed];
    const a = long && flags.some((f) => f.name === long) ? `--${long}` : typed;
    if (a === '--') {
      positional.push(...argv.slice(i));
      break;
    }
    if (a === '-h') {
      values['help'] = true;
      continue;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-' && !NUMBER_RE.test(a)) {
        throw usageError(`unknown option '${a}' for 'webnmf ${command}' (options start with '--').`);
      }
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    const spec = flags.find((f) => f.name === name);
    if (!spec) throw usageError(`unknown option '--${name}' for 'webnmf ${command}'.${suggest(name, flags)}`);
    if (spec.key in values && spec.type.kind !== 'bool') {
      throw usageError(`--${name} is given more than once; give it once.`);
    }
    let raw: string;
    if (spec.type.kind === 'bool') {
      if (eq >= 0) throw usageError(`--${name} takes no value (got '${a.slice(eq + 1)}').`);
      raw = '';
    } else if (eq >= 0) {
      raw = a.slice(eq + 1);
    } else {
      const next = argv[i];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        const meta = 'metavar' in spec.type ? spec.type.metavar : spec.type.kind === 'enum' ? spec.type.values.join('|') : 'a value';
        throw usageError(`--${name} needs a value (${meta}).`);
      }
      raw = next;
      i++;
    }
    values[spec.key] = parseValue(spec, raw);
  }
  return { values, positional };
}

/** Parses the whole command line. Throws WebnmfError('usage') for bad syntax. */
export function parseCommandLine(argv: readonly string[]): Command {
  if (argv.length === 0) return { command: 'help', topic: 'main' };
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = rest[0] === 'fit' || rest[0] === 'example' || rest[0] === 'auto' ? rest[0] : 'main';
    return { command: 'help', topic };
  }
  if (first === '--version' || first === '-V' || first === 'version') return { command: 'version' };
  if (first === 'fit') {
    const { values, positional } = parseFlags(rest, FIT_FLAGS, 'fit');
    if (values['help']) return { command: 'help', topic: 'fit' };
    if (positional.length === 0) throw usageError("'webnmf fit' needs the data file: webnmf fit X.npy --components K.");
    if (positional.length > 1) {
      throw usageError(`'webnmf fit' takes one data file, got ${positional.length}: ${positional.map((p) => `'${p}'`).join(' ')}.`);
    }
    if (values['components'] === undefined) throw usageError('--components K is required (the number of components to unmix).');
    delete values['help'];
    return { command: 'fit', args: { input: positional[0]!, ...(values as Omit<FitArgs, 'input'>) } as FitArgs };
  }
  if (first === 'example') {
    const { values, positional } = parseFlags(rest, EXAMPLE_FLAGS, 'example');
    if (values['help']) return { command: 'help', topic: 'example' };
    if (positional.length > 0) throw usageError(`'webnmf example' takes no file arguments (got '${positional[0]}').`);
    delete values['help'];
    return { command: 'example', args: values as ExampleArgs };
  }
  if (first === 'auto') {
    const { values, positional } = parseFlags(rest, AUTO_FLAGS, 'auto');
    if (values['help']) return { command: 'help', topic: 'auto' };
    if (positional.length === 0) throw usageError("'webnmf auto' needs the data file: webnmf auto X.npy --components K.");
    if (positional.length > 1) {
      throw usageError(`'webnmf auto' takes one data file, got ${positional.length}: ${positional.map((p) => `'${p}'`).join(' ')}.`);
    }
    if (values['components'] === undefined) throw usageError('--components K (or K1,K2,... to choose k) is required.');
    delete values['help'];
    return { command: 'auto', args: { input: positional[0]!, ...(values as Omit<AutoArgs, 'input'>) } as AutoArgs };
  }
  if (first!.startsWith('-')) throw usageError(`unknown option '${first}'. Start with a command: 'webnmf fit', 'webnmf auto' or 'webnmf example'.`);
  throw usageError(`unknown command '${first}'. The commands are 'fit', 'auto', 'example', 'pca', 'nnls', 'nmf' and 'seeded'.`);
}

export function flagLines(flags: readonly FlagSpec[]): string {
  const rows = flags.map((f) => {
    const t = f.type;
    const meta = t.kind === 'bool' ? '' : t.kind === 'enum' ? ` ${t.values.join('|')}` : ` ${t.metavar}`;
    const short = Object.keys(SHORT_FLAGS).find((k) => SHORT_FLAGS[k] === f.name);
    return [`  ${short ? `${short}, ` : ''}--${f.name}${meta}`, f.help] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => (a.length + 2 > w ? `${a}\n${' '.repeat(w)}${b}` : a.padEnd(w) + b)).join('\n');
}

export const MAIN_HELP = `webnmf: unmix spectrum images with regularised Poisson NMF (ESPM's SmoothNMF) on the GPU or CPU.

Usage:
  webnmf fit X.npy --components K [options]   fit a model and write W, H, D and a report
  webnmf auto X.npy --components K [options]  bin, choose λ and μ (and k) by count splitting, fine-tune
  webnmf example [--out DIR]                  fit a built-in synthetic dataset and draw the result
  webnmf pca X.npy --components K             PCA (standardised or Poisson-scaled): loadings, scores, scree
  webnmf nnls X.npy --spectra D.npy           maps with the spectra locked (active set / FISTA; KL)
  webnmf nmf X.npy --components K             random NNMF (Frobenius or KL)
  webnmf seeded X.npy --components K ...      seeded NNMF (spectra, Gaussians, maps; 4-D fast multislice)
  webnmf --help | fit --help | auto --help | example --help
  webnmf --version

X.npy is channels × pixels (ESPM's layout), or rows × cols × channels (HyperSpy's layout).
Exit status: 0 success, 2 usage or input error, 1 other failure, 130 interrupted.
`;

export const FIT_HELP = `Usage: webnmf fit X.npy --components K [options]

Fits X ≈ G W H (D = G W, the spectra; H, the maps) by ESPM's regularised Poisson NMF.
X.npy: 2-D channels × pixels, or 3-D rows × cols × channels (the image shape comes from the file).

Options:
${flagLines(FIT_FLAGS)}

Writes into DIR (files appear only when complete; nothing is written when the fit fails):
  W.npy (m × k), H.npy (k × pixels), D.npy (channels × k),
  W_itNNNN.npy / H_itNNNN.npy for each --snapshots iteration, report.json.

Example:
  webnmf fit X.npy --components 3 --g G.npy --shape 100x100 --lambda 2 --mu 0.05 --simplex h --normalize
`;

export const EXAMPLE_HELP = `Usage: webnmf example [--out DIR] [--backend cpu|webgpu|auto] [--quiet]

Generates a small synthetic spectrum image, unmixes it with SmoothNMF and writes X.npy, G.npy,
W.npy, H.npy, D.npy, report.json, maps.png, map_0.png…, spectra.svg into DIR, then compares the
result with the truth.

Options:
${flagLines(EXAMPLE_FLAGS)}
`;

export const AUTO_HELP = `Usage: webnmf auto X.npy --components K[,K...] [options]

Fits ESPM's regularised Poisson NMF (simplex on H, normalize) with λ and μ (and k) chosen from the
data, by the multi-resolution route:
  1. bin: sum B × B pixel blocks (partial edge blocks are cropped; B from an unbiased Poisson risk
     estimate unless --bin is given; images under 16 × 16 are not binned),
  2. tune: split the binned counts X_b into A ~ Binomial(X_b, 1/2) and B = X_b − A; fit every grid
     candidate on one half (one batched solve per fold) and score the held-out generalised KL
     deviance of the other half; a second batch refines around the best point,
  3. fit the whole binned cube, rescale W; start the maps from the mean of the binned maps
     upsampled bilinearly and the per-pixel least-squares maps for those spectra (where B is 1:
     one iteration of the --start-bin-binned cube serves as that start),
  4. fine-tune at full resolution until the sampled loss stops improving (--tol).
Rescaling to full resolution: λ_full = B^2.5 λ_binned, μ_full = μ_binned.
X.npy: raw integer counts, 2-D channels × pixels (with --shape) or 3-D rows × cols × channels.

Options:
${flagLines(AUTO_FLAGS)}

Writes into DIR (files appear only when complete): W.npy, H.npy, D.npy and report.json (chosen bin,
λ, μ, k, the validation score of every candidate, seconds and iterations per stage).

Example:
  webnmf auto X.npy --components 3 --g G.npy --shape 100x100
`;
