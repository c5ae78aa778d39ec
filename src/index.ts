/**
 * webnmf: regularised Poisson NMF (ESPM's SmoothNMF), KL and Frobenius NMF for spectrum images,
 * on WebGPU with a float64 CPU reference. The public surface.
 */
export { SmoothNMF, fitSmoothNMF, prepareProblem, normalizationFactor, rescaleToUnitSums } from './estimator.js';
export type { SmoothNMFOptions, FitResult } from './options.js';
export type {
  Matrix,
  Matrix64,
  ImageShape,
  SimplexMode,
  SimplexSolver,
  InitMethod,
  LossKind,
  BackendName,
  StopReason,
  LossSample,
  Progress,
  Problem,
  SolveResult,
  Backend,
} from './types.js';
export { EPSILON, SIGMA_L } from './types.js';
export { WebnmfError } from './errors.js';
export { solveCpu, cpuBackend } from './cpu/solve.js';
export { initialize } from './cpu/init.js';
export { compareToTruth, spectralAngle } from './metrics.js';
export { makeSyntheticDataset } from './synth.js';
export type { SyntheticDataset, SyntheticOptions } from './synth.js';
export { parseNpy, readNpyView, encodeNpy } from './io/npy.js';
export type { NpyArray, NpyView, NpyValues } from './io/npy.js';
export * from './modes/index.js';
export { autoFit, rescaleWeights, binCube, chooseBin, thinCounts } from './auto/index.js';
export type { AutoFitOptions, AutoFitResult } from './auto/index.js';
export { createWebGPUBackend, webgpuAvailable } from './gpu/index.js';
export { readCube } from './io/readers/index.js';
export type { Cube, Axis } from './io/readers/cube.js';
export { cubeToMatrix } from './io/readers/cube.js';
