// Randomized PCA on WebGPU, product 1 of Y = Z (Zᵀ Q): one thread per pixel,
//   A[pix, c] = Σ_i Z[i, pix] Q[i, c]     (Z n × p, Q n × L, A p × L; L = the K override ≤ 32)

override WG: u32 = 64u;
override K: u32 = 8u;

struct Params {
  n: u32, p: u32, k: u32, m: u32,
  rows: u32, cols: u32, p0: u32, pc: u32,
  segLen: u32, nSeg: u32, seg0: u32, flags: u32,
  lsegLen: u32, nLseg: u32, lseg0: u32, batch: u32,
  eps: f32, sigma: f32, xScale: f32, pPad: u32,
  pcPad: u32, xTiny: f32, pad2: u32, pad3: u32,
}

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
