/** The messages between the page and the solver worker (structured-cloned; big arrays transferred). */
import type { Axis } from '../../src/io/readers/cube.js';

import type { Mode, Params } from './state.js';

export interface DatasetInfo {
  source: string;
  format: string;
  rows: number;
  cols: number;
  channels: number;
  /** 4-D stacks: how many slices, and the one unmixed. */
  slices?: number;
  slice?: number;
  signalAxis: Axis;
  navigationAxes: Axis[];
  fileBytes: number;
  title?: string;
  /** The built-in example: true spectra and maps are known. */
  isExample: boolean;
}

export interface AuxInfo {
  kind: 'G' | 'seeds';
  name: string;
  /** channels × columns */
  rows: number;
  cols: number;
  note?: string;
}

export type LoadSpec =
  | { kind: 'files'; files: File[]; shape?: { rows: number; cols: number }; slice?: number }
  | { kind: 'example'; seed: number };

export type ToWorker =
  | { type: 'probe' }
  | { type: 'load'; spec: LoadSpec }
  | { type: 'aux'; kind: 'G' | 'seeds'; file: File }
  | { type: 'run'; id: number; mode: Mode; params: Params }
  | { type: 'cancel'; id: number };

export interface CandidateView {
  k: number;
  lambdaBinned: number;
  lambdaFull: number;
  mu: number;
  score: number;
  round: string;
}

export interface LossPoint {
  iteration: number;
  full: number;
  kl?: number;
  logReg?: number;
  laplacian?: number;
}

export interface ResultData {
  id: number;
  mode: Mode;
  k: number;
  /** k × pixels, the maps. */
  H: Float64Array;
  /** channels × k, the spectra D = G W. */
  D: Float64Array;
  channels: number;
  /** Sampled loss (SmoothNMF: the full objective per element; modes: their own error). */
  losses: LossPoint[];
  nIter: number;
  stopReason: string;
  backend: string;
  backendInfo: string;
  warnings: string[];
  /** The weights actually used (auto: chosen). */
  used: Record<string, string | number | boolean | undefined>;
  seconds: { solve: number; total: number; wall: number };
  auto?: {
    validation: CandidateView[];
    bin: string;
    lambdaBinned: number;
    stages: Record<string, number>;
  };
  /** Explained-variance ratios of the k components, and (exact PCA) of every component. */
  pca?: { explained: number[]; scree?: number[] };
  truth?: { meanAngle: number; meanR2: number; angles: number[]; r2: number[] };
}

export type FromWorker =
  | { type: 'backend'; ok: boolean; info?: string; reason?: string }
  | { type: 'loaded'; info: DatasetInfo; sumImage: Float32Array; meanSpectrum: Float64Array; ms: { read: number; prepare: number }; warnings: string[]; auxDropped: ('G' | 'seeds')[] }
  | { type: 'aux-loaded'; aux: AuxInfo }
  | { type: 'progress'; id: number; iteration: number; maxIter: number; loss: number; rate: number }
  | { type: 'stage'; id: number; message: string }
  | { type: 'result'; result: ResultData }
  | { type: 'cancelled'; id: number; message: string }
  | { type: 'error'; context: 'load' | 'aux' | 'run' | 'probe'; id?: number; message: string };
