// Randomized PCA on WebGPU, product 2 of Y = Z (Zᵀ Q): one workgroup per channel i,
//   Y[i, c] = Σ_pix Z[i, pix] A[pix, c]   (threads stride over the pixels, then a tree reduction)

override WG: u32 = 64u;
override K: u32 = 8u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Z: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const MAXL: u32 = 32u;
var<workgroup> red: array<f32, 2048>;   // WG (≤ 64) × MAXL

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wid.x;
  var acc: array<f32, MAXL>;
  for (var c = 0u; c < K; c++) { acc[c] = 0.0; }
  for (var pix = li; pix < P.p; pix += WG) {
    let z = Z[i * P.p + pix];
    for (var c = 0u; c < K; c++) { acc[c] += z * A[pix * K + c]; }
  }
  for (var c = 0u; c < K; c++) { red[li * MAXL + c] = acc[c]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) {
      for (var c = 0u; c < K; c++) { red[li * MAXL + c] += red[(li + s) * MAXL + c]; }
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    for (var c = 0u; c < K; c++) { Y[i * K + c] = red[c]; }
  }
}
