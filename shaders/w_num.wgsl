// W-step numerator partials, one thread per (CPT channels, pixel segment, problem b):
//   KL:        Σ_{p in segment} X_ip / (D H⁺)_ip · H⁺_kp
//   Frobenius: Σ_{p in segment} X_ip · H⁺_kp
// The channel-0 thread also writes the segment's row sums and row maxima of H⁺. Segments are numbered across chunks (seg0), so chunked fits accumulate naturally.

// X is read as vec4<u32> (4 float32 or 8 packed u16 pixels, see h_update.wgsl); H as vec4<f32>.

override WG: u32 = 64u;
override K: u32 = 3u;
override PPT: u32 = 4u;
/** 1: X in the sparse layout (KL only; an override, so the dense pipelines carry no sparse code). */
override SPARSE: u32 = 0u;
/** 1: the u16 counts hold the fill sentinel 0xffff (ESPM's ε in all-zero lines, = P.xTiny). */
override FILL: u32 = 0u;
/** Channels per thread: each H load serves CPT channels (software Vulkan: 8; GPUs: 1–2). */
override CPT: u32 = 1u;
const MAXCPT: u32 = 8u;
const MAXK: u32 = 16u;
const MAXPPT: u32 = 8u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// pPad, pcPad: row strides of H (k × pPad) and of an X chunk (n × pcPad), multiples of 8 pixels;
// padding pixels hold X = 0 and H = 0.
// flags: 1 = G given, 2 = simplex on H, 4 = simplex on W, 8 = Frobenius, 16 = X packed u16
// Sparse X (override SPARSE): the per-(segment, channel) half of the layout in h_update.wgsl:
// from word [1], nSeg·n + 1 offsets (index s·n + i, s the segment within the chunk) into the
// entries from word [2], (pixel within the segment << 16) | count.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read> H: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> wpart: array<f32>;
@group(0) @binding(5) var<storage, read_write> hpart: array<f32>;
// Sparse X only: H⁺ pixel-major, ceil(K/4) vec4 per pixel (written by h_update.wgsl).
@group(0) @binding(6) var<storage, read> Ht: array<vec4<f32>>;

// hpart per (b, segment): [0, K) row sums, [K, 2K) row maxima

/** One u32 word of a sparse X chunk. */
fn xw(w: u32) -> u32 { return X[w >> 2u][w & 3u]; }

/** One 16-bit count as X; 0xffff is the fill sentinel (P.xTiny) in the sparse layout or where FILL says so. */
fn xcount(c: u32) -> f32 { return select(f32(c) * P.xScale, P.xTiny, (SPARSE != 0u || FILL != 0u) && c == 0xffffu); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = gid.x * CPT;
  let s = wid.y;
  let b = wid.z;
  if (i0 >= P.n) { return; }
  let q0 = s * P.segLen;           // segLen is a multiple of 8
  if (q0 >= P.pc) { return; }
  let q1 = min(q0 + P.segLen, P.pc);
  let hb = b * K * P.pPad + P.p0;
  let frob = (P.flags & 8u) != 0u;
  let packed = PPT == 8u;
  let first = i0 == 0u;
  let xstride = P.pcPad / PPT;

  var d: array<array<f32, MAXK>, MAXCPT>;
  var acc: array<array<f32, MAXK>, MAXCPT>;
  var rs: array<f32, MAXK>;
  var mx: array<f32, MAXK>;
  for (var c = 0u; c < CPT; c++) {
    let i = min(i0 + c, P.n - 1u);
    let live = i0 + c < P.n;
    for (var kk = 0u; kk < K; kk++) {
      d[c][kk] = select(0.0, D[b * P.n * K + i * K + kk], live);
      acc[c][kk] = 0.0;
    }
  }
  for (var kk = 0u; kk < K; kk++) { rs[kk] = 0.0; mx[kk] = 0.0; }

  let sparse = SPARSE != 0u;
  if (sparse) {
    let offs = xw(1u) + s * P.n;
    let ent = xw(2u);
    let kv = (K + 3u) / 4u;
    let tb = b * P.pPad + P.p0 + q0;
    for (var c = 0u; c < CPT; c++) {
      let i = min(i0 + c, P.n - 1u);
      let e1 = select(xw(offs + i), xw(offs + i + 1u), i0 + c < P.n);   // rows past n: no entries
      for (var e = xw(offs + i); e < e1; e++) {
        let w = xw(ent + e);
        let hq = (tb + (w >> 16u)) * kv;
        let xv = xcount(w & 0xffffu);
        var hk: array<f32, MAXK>;
        for (var v = 0u; v < kv; v++) {
          let hv = Ht[hq + v];
          for (var u = 0u; u < 4u; u++) { hk[min(4u * v + u, MAXK - 1u)] = hv[u]; }
        }
        var dh = 0.0;
        for (var kk = 0u; kk < K; kk++) { dh += d[c][kk] * hk[kk]; }
        let r = xv / select(dh, P.eps, dh <= 0.0);   // KL only (the engine refuses sparse Frobenius)
        for (var kk = 0u; kk < K; kk++) { acc[c][kk] += r * hk[kk]; }
      }
    }
    if (first) {
      for (var q = q0; q < q1; q++) {
        for (var kk = 0u; kk < K; kk++) {
          let ix = hb + kk * P.pPad + q;
          let hv = H[ix >> 2u][ix & 3u];
          rs[kk] += hv;
          mx[kk] = max(mx[kk], hv);
        }
      }
    }
  }
  for (var q = q0; q < select(q1, q0, sparse); q += PPT) {
    var h: array<array<f32, MAXPPT>, MAXK>;
    for (var kk = 0u; kk < K; kk++) {
      for (var v = 0u; v < PPT / 4u; v++) {
        let hv = H[(hb + kk * P.pPad + q) / 4u + v];
        for (var e = 0u; e < 4u; e++) { h[kk][v * 4u + e] = hv[e]; }
      }
    }
    for (var c = 0u; c < CPT; c++) {
      let i = min(i0 + c, P.n - 1u);    // rows past n repeat row n−1 with d = 0: they add nothing
      let xv = X[i * xstride + q / PPT];
      var x: array<f32, MAXPPT>;
      if (packed) {
        for (var e = 0u; e < 4u; e++) {
          x[2u * e] = xcount(xv[e] & 0xffffu);
          x[2u * e + 1u] = xcount(xv[e] >> 16u);
        }
      } else {
        for (var e = 0u; e < 4u; e++) { x[e] = bitcast<f32>(xv[e]); }
      }
      // No bound test per pixel: past the chunk's last pixel X holds 0 (padding), so r = 0 and
      // those pixels add nothing whatever H holds there.
      for (var j = 0u; j < PPT; j++) {
        var r = x[j];
        if (!frob) {
          var dh = 0.0;
          for (var kk = 0u; kk < K; kk++) { dh += d[c][kk] * h[kk][j]; }
          r = x[j] / select(dh, P.eps, dh <= 0.0);   // ESPM's ε floor of DH (see h_update.wgsl)
        }
        for (var kk = 0u; kk < K; kk++) { acc[c][kk] += r * h[kk][j]; }
      }
    }
    if (first) {
      for (var j = 0u; j < PPT; j++) {
        if (q + j >= P.pc) { break; }   // past the chunk's end H may hold the next chunk's pixels
        for (var kk = 0u; kk < K; kk++) { rs[kk] += h[kk][j]; mx[kk] = max(mx[kk], h[kk][j]); }
      }
    }
  }

  let seg = b * P.nSeg + P.seg0 + s;
  for (var c = 0u; c < CPT; c++) {
    if (i0 + c < P.n) {
      let wb = (seg * P.n + i0 + c) * K;
      for (var kk = 0u; kk < K; kk++) { wpart[wb + kk] = acc[c][kk]; }
    }
  }
  if (first) {
    let pb = seg * 2u * K;
    for (var kk = 0u; kk < K; kk++) { hpart[pb + kk] = rs[kk]; hpart[pb + K + kk] = mx[kk]; }
  }
}
