// The uniform every kernel binds at @binding(0), declared once (inlined by scripts/embed-shaders.mjs
// at each kernel's `// #include` line). Member order and types are src/gpu/kernels.ts
// PARAMS_LAYOUT (test/gpu/reflect.test.ts checks every kernel against it); what each member
// means is said where a kernel uses it.

struct Params {
  n: u32, p: u32, k: u32, m: u32,
  rows: u32, cols: u32, p0: u32, pc: u32,
  segLen: u32, nSeg: u32, seg0: u32, flags: u32,
  lsegLen: u32, nLseg: u32, lseg0: u32, batch: u32,
  eps: f32, sigma: f32, xScale: f32, pPad: u32,
  pcPad: u32, xTiny: f32, pad2: u32, pad3: u32,
}
