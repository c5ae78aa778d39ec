// Fixed-spectra NNLS, set-up: one thread per pixel of a span [p0, p0 + pc) of the pixel axis.
//   B[:, pix] = Dᵀ x_pix   (k values; X holds the span only, n × pc row-major)
// and the FISTA state of the pixel: A = Y = 0, t = 1, f = f(0) = 0.

override WG: u32 = 64u;
override K: u32 = 4u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// n channels, p total pixels, k components, p0/pc the span; A, Y, B are k × p (component-major).

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read_write> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> A: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> S: array<f32>;

const MAXK: u32 = 16u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q >= P.pc) { return; }
  let pix = P.p0 + q;
  var b: array<f32, MAXK>;
  for (var c = 0u; c < K; c++) { b[c] = 0.0; }
  for (var i = 0u; i < P.n; i++) {
    let x = X[i * P.pc + q];
    for (var c = 0u; c < K; c++) { b[c] += D[i * K + c] * x; }
  }
  for (var c = 0u; c < K; c++) {
    B[c * P.p + pix] = b[c];
    A[c * P.p + pix] = 0.0;
    Y[c * P.p + pix] = 0.0;
  }
  S[2u * pix] = 1.0;       // t
  S[2u * pix + 1u] = 0.0;  // f(a) = ½ aᵀQa − bᵀa
}
