/**
 * Colour scales. Maps use viridis (perceptually uniform, readable with the common colour-vision
 * deficiencies and in greyscale); curves and composites use the Okabe–Ito palette the library's
 * plots use.
 */
export { OKABE_ITO } from '../../../src/io/plot.js';

// A degree-6 polynomial fit of matplotlib's viridis (within about 1/255 of the table).
const C = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
] as const;

/** 256 RGB triplets (bytes): index 0 is the low end. */
export const VIRIDIS: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let d = 6; d >= 0; d--) v = v * t + C[d]![c]!;
      lut[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return lut;
})();

export const hexToRgb = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
