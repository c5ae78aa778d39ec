/**
 * HS-MOSAIC's analysis modes on webnmf's engine: PCA, random NNMF, seeded NNMF, fixed-spectra
 * NNLS (least squares and KL) and 4-D stacks (per slice, fast multislice). Every mode has an
 * estimator class (options object, fit / fitTransform / transform, dispose) and a functional twin,
 * runs on WebGPU or the float64 CPU reference (`backend`), and reports a FitSummary.
 *
 * Layout: X is channels × pixels, D (channels × k) the spectra, H (k × pixels) the maps.
 * HS-MOSAIC's H (spectra) is our Dᵀ, its W (maps) our Hᵀ.
 */
export { PCA, fitPCA, pcaPreprocess } from './pca.js';
export type { PCAOptions, PCAResult, PCAScaling } from './pca.js';
export { NNLS, fitNNLS } from './nnls.js';
export type { NNLSOptions, NNLSFitResult, NNLSSolver, NNLSProgress } from './nnls.js';
export { NMF, SeededNMF, fitNMF, fitSeededNMF, gaussianSpectrum, wSeedMaps, residualSpectrum, W_SEED_MODES } from './seeded.js';
export type {
  NMFOptions,
  SeededNMFOptions,
  NMFModeOptions,
  ModeFitResult,
  SeededFitResult,
  SpectrumSeed,
  GaussianPeak,
  WSeedMode,
  FallbackOptions,
  StoppingRule,
  SpectrumSource,
  MapSource,
} from './seeded.js';
export { toStack, fitPerSlice, fitMultislice } from './stack.js';
export type { Stack, SliceInput, PerSliceMode, PerSliceResult, MultisliceOptions, MultisliceResult } from './stack.js';
export { SampledErrorStop } from './common.js';
export type { FitSummary } from './common.js';
