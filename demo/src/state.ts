/**
 * The app's analysis state: the modes, their parameters with defaults and one-line explanations,
 * and presets (the full analysis state as JSON). Pure data and functions: no DOM.
 */

export type Mode = 'smooth' | 'auto' | 'plain' | 'seeded' | 'nnls' | 'pca';

export interface ModeSpec {
  id: Mode;
  label: string;
  help: string;
}

export const MODES: readonly ModeSpec[] = [
  { id: 'smooth', label: 'SmoothNMF', help: "ESPM's regularised Poisson NMF: smooth maps (λ), sparse maps (μ), abundances that sum to 1." },
  { id: 'auto', label: 'Auto', help: 'Chooses λ, μ (and k from a list) by count splitting on a binned cube, then fine-tunes at full resolution.' },
  { id: 'plain', label: 'Plain NMF', help: 'Unregularised NMF (Poisson KL for counts, Frobenius for optical data): the baseline.' },
  { id: 'seeded', label: 'Seeded NMF', help: 'NMF started from spectra you load (seed spectra file).' },
  { id: 'nnls', label: 'Fixed-spectra NNLS', help: 'Abundance maps only, with the spectra you load held fixed.' },
  { id: 'pca', label: 'PCA', help: 'Principal components and their scree plot: a quick look at how many components the data hold.' },
];

export type Simplex = 'h' | 'w' | 'none';
export type Loss = 'kl' | 'frobenius';
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
export type MajorizerChoice = 'tight' | 'espm';

export interface Params {
  k: number;
  lambda: number;
  mu: number;
  epsilonReg: number;
  simplex: Simplex;
  majorizer: MajorizerChoice;
  loss: Loss;
  /** Auto mode: candidate k, e.g. "2,3,4" (empty: k). */
  ks: string;
  /** Auto mode: spatial bin factor (0: chosen from the data). */
  bin: number;
  maxIter: number;
  tol: number;
  lossEvery: number;
  normalize: boolean;
  useG: boolean;
  backend: BackendChoice;
  seed: number;
}

export const DEFAULT_PARAMS: Readonly<Params> = {
  k: 3,
  lambda: 1,
  mu: 0,
  epsilonReg: 1,
  simplex: 'h',
  majorizer: 'tight',
  loss: 'kl',
  ks: '',
  bin: 0,
  maxIter: 200,
  tol: 1e-4,
  lossEvery: 10,
  normalize: true,
  useG: false,
  backend: 'auto',
  seed: 0,
};

export interface FieldSpec {
  key: keyof Params;
  label: string;
  kind: 'int' | 'number' | 'select' | 'bool' | 'text';
  options?: readonly string[];
  min?: number;
  help: string;
  /** The modes that use it. */
  modes: readonly Mode[];
}

const FIT_MODES: readonly Mode[] = ['smooth', 'auto', 'plain', 'seeded', 'nnls'];

export const FIELDS: readonly FieldSpec[] = [
  { key: 'k', label: 'components k', kind: 'int', min: 1, help: 'How many phases (components) to unmix.', modes: ['smooth', 'auto', 'plain', 'pca'] },
  { key: 'ks', label: 'candidate k', kind: 'text', help: 'Optional list, e.g. 2,3,4: the smallest k within one standard error of the best is kept.', modes: ['auto'] },
  { key: 'lambda', label: 'λ smoothness', kind: 'number', min: 0, help: 'Laplacian weight: larger gives smoother maps; 0 turns it off.', modes: ['smooth'] },
  { key: 'mu', label: 'μ sparsity', kind: 'number', min: 0, help: 'Log penalty on the maps: larger pushes each pixel towards fewer phases.', modes: ['smooth'] },
  { key: 'epsilonReg', label: 'ε_reg', kind: 'number', min: 0, help: 'Slope of the log penalty at 0 (ESPM default 1).', modes: ['smooth'] },
  { key: 'simplex', label: 'simplex', kind: 'select', options: ['h', 'w', 'none'], help: 'h: maps sum to 1 per pixel (abundances); w: each spectrum sums to 1; none.', modes: ['smooth'] },
  { key: 'majorizer', label: 'H step', kind: 'select', options: ['tight', 'espm'], help: "tight: the same solution as ESPM's step in 2–7× fewer iterations when λ > 0; espm: ESPM's iterates exactly.", modes: ['smooth'] },
  { key: 'loss', label: 'loss', kind: 'select', options: ['kl', 'frobenius'], help: 'kl: Poisson counts (EDX, EELS); frobenius: Gaussian noise (optical stacks).', modes: ['plain', 'seeded', 'nnls'] },
  { key: 'bin', label: 'bin factor', kind: 'int', min: 0, help: 'Pixels summed per block side while tuning; 0 chooses it from the data.', modes: ['auto'] },
  { key: 'useG', label: 'use known spectra G', kind: 'bool', help: 'Spectra are combinations of the columns of G (e.g. X-ray lines); load G below.', modes: ['smooth', 'auto', 'plain'] },
  { key: 'maxIter', label: 'max iterations', kind: 'int', min: 1, help: 'Upper bound on iterations (auto: of the full-resolution fine-tune).', modes: FIT_MODES },
  { key: 'tol', label: 'tolerance', kind: 'number', min: 0, help: 'Stop when the loss or the factors change less than this per iteration.', modes: FIT_MODES },
  { key: 'normalize', label: 'normalise counts', kind: 'bool', help: 'Scale the data so the mean pixel sum is k: λ and μ then mean the same at any count level.', modes: ['smooth', 'plain'] },
  { key: 'backend', label: 'backend', kind: 'select', options: ['auto', 'webgpu', 'cpu'], help: 'auto: WebGPU when the browser has it, else the float64 CPU reference.', modes: [...FIT_MODES, 'pca'] },
  { key: 'seed', label: 'random seed', kind: 'int', min: 0, help: 'Seed of the initialisation and of the count splits: same seed, same result.', modes: ['smooth', 'auto', 'plain', 'pca'] },
];

/** The candidate k of auto mode: the list if given, else k. */
export function candidateKs(p: Params): number[] {
  const list = p.ks
    .split(/[\s,;]+/)
    .filter((s) => s.length > 0)
    .map(Number);
  if (list.length === 0) return [p.k];
  const bad = list.find((k) => !Number.isInteger(k) || k < 1);
  if (bad !== undefined) throw new Error(`candidate k: '${p.ks}' holds ${bad}; give positive integers such as 2,3,4`);
  return list;
}

/** Checks parameter values; returns one message per problem (empty: fine). */
export function checkParams(p: Params): string[] {
  const out: string[] = [];
  for (const f of FIELDS) {
    const v = p[f.key];
    if (f.kind === 'int' && (!Number.isInteger(v) || (v as number) < (f.min ?? -Infinity))) out.push(`${f.label}: ${v} is not an integer ≥ ${f.min}`);
    if (f.kind === 'number' && (!Number.isFinite(v as number) || (v as number) < (f.min ?? -Infinity))) out.push(`${f.label}: ${v} is not a number ≥ ${f.min}`);
    if (f.kind === 'select' && !f.options!.includes(v as string)) out.push(`${f.label}: '${v}' is not one of ${f.options!.join(', ')}`);
  }
  try {
    candidateKs(p);
  } catch (e) {
    out.push((e as Error).message);
  }
  return out;
}

/** What is displayed besides the parameters (part of a preset). */
export interface DisplayState {
  /** Components shown in the false-colour composite (up to 3). */
  composite: number[];
  /** Colour-scale clipping: the top percentile kept (100: min–max). */
  clipPercentile: number;
}

export const DEFAULT_DISPLAY: Readonly<DisplayState> = { composite: [0, 1, 2], clipPercentile: 100 };

export const PRESET_FORMAT = 'webnmf-demo-preset';

export interface Preset {
  format: typeof PRESET_FORMAT;
  version: 1;
  mode: Mode;
  params: Params;
  display: DisplayState;
  /** The data the preset was made with (informative: a preset applies to any data). */
  dataset?: { source: string; rows: number; cols: number; channels: number };
  savedAt?: string;
}

export function makePreset(mode: Mode, params: Params, display: DisplayState, dataset?: Preset['dataset']): Preset {
  return { format: PRESET_FORMAT, version: 1, mode, params: { ...params }, display: { ...display, composite: [...display.composite] }, dataset, savedAt: new Date().toISOString() };
}

/** Parses a preset, filling absent parameters with defaults; throws with a message naming the problem. */
export function parsePreset(text: string): Preset {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`the preset is not valid JSON (${(e as Error).message})`);
  }
  const o = raw as Partial<Preset> | null;
  if (!o || typeof o !== 'object' || o.format !== PRESET_FORMAT) {
    throw new Error(`not a webnmf preset: a preset is a JSON object with "format": "${PRESET_FORMAT}"`);
  }
  if (o.version !== 1) throw new Error(`preset version ${String(o.version)} is not supported (this app reads version 1)`);
  if (!MODES.some((m) => m.id === o.mode)) throw new Error(`preset mode '${String(o.mode)}' is unknown; modes: ${MODES.map((m) => m.id).join(', ')}`);
  const params: Params = { ...DEFAULT_PARAMS };
  for (const key of Object.keys(DEFAULT_PARAMS) as (keyof Params)[]) {
    const v = (o.params as Record<string, unknown> | undefined)?.[key];
    if (v !== undefined) {
      if (typeof v !== typeof DEFAULT_PARAMS[key]) throw new Error(`preset parameter ${key}: ${JSON.stringify(v)} should be a ${typeof DEFAULT_PARAMS[key]}`);
      (params as unknown as Record<string, unknown>)[key] = v;
    }
  }
  const problems = checkParams(params);
  if (problems.length) throw new Error(`preset: ${problems.join('; ')}`);
  const display: DisplayState = { ...DEFAULT_DISPLAY, ...(o.display ?? {}) };
  return { format: PRESET_FORMAT, version: 1, mode: o.mode as Mode, params, display, dataset: o.dataset, savedAt: o.savedAt };
}
