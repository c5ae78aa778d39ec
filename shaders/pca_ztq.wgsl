// Randomized PCA on WebGPU, product 1 of Y = Z (Zᵀ Q): one thread per pixel,
//   A[pix, c] = Σ_i Z[i, pix] Q[i, c]     (Z n × p, Q n × L, A p × L; L = the K override ≤ 32)

override WG: u32 = 64u;
override K: u32 = 8u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Z: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read_write> A: array<f32>;

const MAXL: u32 = 32u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pix = gid.x;
  if (pix >= P.p) { return; }
  var acc: array<f32, MAXL>;
  for (var c = 0u; c < K; c++) { acc[c] = 0.0; }
  for (var i = 0u; i < P.n; i++) {
    let z = Z[i * P.p + pix];
    for (var c = 0u; c < K; c++) { acc[c] += z * Q[i * K + c]; }
  }
  for (var c = 0u; c < K; c++) { A[pix * K + c] = acc[c]; }
}
