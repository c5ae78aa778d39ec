import type { ImageShape } from '../types.js';

/**
 * (H L) for the 4-neighbour graph Laplacian with free (Neumann) edges, as a stencil:
 * (H L)_kp = deg(p) · H_kp − Σ_{q ~ p} H_kq, with deg 2 at corners, 3 on edges, 4 inside.
 * H is k × p row-major with p = rows · cols and pixel index r * cols + c. Never builds L.
 */
export function laplacianApply(
  H: Float64Array,
  k: number,
  shape: ImageShape,
  out: Float64Array = new Float64Array(H.length),
): Float64Array {
  const { rows, cols } = shape;
  const p = rows * cols;
  if (H.length !== k * p) {
    throw new Error(`laplacianApply: H has ${H.length} values, expected k·rows·cols = ${k}·${rows}·${cols}`);
  }
  for (let c = 0; c < k; c++) {
    const base = c * p;
    for (let r = 0; r < rows; r++) {
      for (let col = 0; col < cols; col++) {
        const j = base + r * cols + col;
        const h = H[j];
        let acc = 0;
        if (col > 0) acc += h - H[j - 1];
        if (col < cols - 1) acc += h - H[j + 1];
        if (r > 0) acc += h - H[j - cols];
        if (r < rows - 1) acc += h - H[j + cols];
        out[j] = acc;
      }
    }
  }
  return out;
}

/** The explicit p × p Laplacian (tests only: it is what the stencil must equal). */
export function laplacianMatrix(shape: ImageShape): Float64Array {
  const { rows, cols } = shape;
  const p = rows * cols;
  const L = new Float64Array(p * p);
  const link = (a: number, b: number) => {
    L[a * p + b] -= 1;
    L[b * p + a] -= 1;
    L[a * p + a] += 1;
    L[b * p + b] += 1;
  };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const j = r * cols + c;
      if (c + 1 < cols) link(j, j + 1);
      if (r + 1 < rows) link(j, j + cols);
    }
  }
  return L;
}
