/**
 * The declarative kernel table: every compute kernel is one entry (shader file, bindings with
 * their access, overrides), and one runner serves them all. Shapes and scalars travel in the
 * `Params` uniform (declared once below: the byte layout is generated from it, and a test checks
 * the WGSL struct against it); only what changes generated code is an `override`, and the
 * pipeline cache key is exactly (kernel name, override values).
 */
import { WebnmfError } from '../errors.js';
import { SHADERS } from './shaders.gen.js';
import { STAGE_COMPUTE } from './device.js';

/** Largest k the kernels hold in registers (WGSL private arrays need a constant size). */
export const MAX_K = 16;
/** Per-problem float slots in the `probs` storage buffer (λ, ε_reg, tol, simplexTol, μ[16]). */
export const PSTRIDE = 32;
export const PROB = { lambda: 0, epsReg: 1, tol: 2, simplexTol: 3, mu: 4, beta: 20 } as const;
/** Per-problem float slots in the `small` buffer: colsum D, row sums of H, row maxima, DᵀD, HHᵀ, Σ_i max(D_ik, ε). */
export const SSTRIDE = 576;
export const SMALL = { dsum: 0, hsum: 16, hmax: 32, dtd: 48, hht: 304, dsumClamped: 560 } as const;
/** Floats per loss partial: KL, log-reg, Laplacian, rel_H. */
export const LOSS_PARTS = 4;

/** Bits of Params.flags. */
export const FLAG = { hasG: 1, simplexH: 2, simplexW: 4, frobenius: 8, packedU16: 16, tight: 32, extrapolate: 64 } as const;

/** The uniform `Params`, declared once: WGSL member order and type. All members are 4 bytes. */
export const PARAMS_LAYOUT = [
  ['n', 'u32'], ['p', 'u32'], ['k', 'u32'], ['m', 'u32'],
  ['rows', 'u32'], ['cols', 'u32'], ['p0', 'u32'], ['pc', 'u32'],
  ['segLen', 'u32'], ['nSeg', 'u32'], ['seg0', 'u32'], ['flags', 'u32'],
  ['lsegLen', 'u32'], ['nLseg', 'u32'], ['lseg0', 'u32'], ['batch', 'u32'],
  ['eps', 'f32'], ['sigma', 'f32'], ['xScale', 'f32'], ['pPad', 'u32'],
  ['pcPad', 'u32'], ['xTiny', 'f32'], ['pad2', 'u32'], ['pad3', 'u32'],
] as const;
/** Pixel rows of H and X chunks are padded to a multiple of this (the widest pixel group). */
export const PIXEL_ALIGN = 8;
export type ParamName = (typeof PARAMS_LAYOUT)[number][0];
export type Params = Record<ParamName, number>;
export const PARAMS_BYTES = PARAMS_LAYOUT.length * 4;

/** Packs a Params record into its uniform bytes, following PARAMS_LAYOUT. */
export function packParams(values: Partial<Params>): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  PARAMS_LAYOUT.forEach(([name, type], i) => {
    const v = values[name] ?? 0;
    if (type === 'u32') u[i] = v >>> 0;
    else f[i] = v;
  });
  return buf;
}

export type BindingType = 'uniform' | 'storage';
export type BindingAccess = 'read' | 'read_write';
export interface BindingDecl {
  readonly binding: number;
  readonly name: string;
  readonly type: BindingType;
  readonly access: BindingAccess;
}
export interface KernelDecl {
  readonly name: KernelName;
  readonly file: string;
  /** All in group 0. */
  readonly bindings: readonly BindingDecl[];
  /** The WGSL `override`s this kernel declares (values come from `KernelOverrides`). */
  readonly overrides: readonly string[];
  /** Workgroup size (the `WG` override). */
  readonly workgroup: number;
  /**
   * What one dispatch counts in the scheduler's model of GPU time (scheduler.ts): 1 for a pass
   * over X (the default), 0 for the small kernels of an iteration, whose share is fixed by the
   * iteration's mix. The model's unit is then a pass over X, which scales with X's size.
   */
  readonly waitWeight?: number;
}

const u = (binding: number, name: string): BindingDecl => ({ binding, name, type: 'uniform', access: 'read' });
const r = (binding: number, name: string): BindingDecl => ({ binding, name, type: 'storage', access: 'read' });
const w = (binding: number, name: string): BindingDecl => ({ binding, name, type: 'storage', access: 'read_write' });

export type KernelName =
  | 'h_update' | 'w_num' | 'w_reduce' | 'w_update' | 'w_update_wg' | 'h_extrapolate' | 'loss'
  // analysis modes (host code in src/gpu/modes/): fixed-spectra NNLS, KL map-only, randomized PCA
  | 'nnls_prep' | 'nnls_fista' | 'nnls_kl' | 'pca_ztq' | 'pca_zza';

export const KERNELS: Readonly<Record<KernelName, KernelDecl>> = {
  h_update: {
    name: 'h_update',
    file: 'h_update.wgsl',
    bindings: [u(0, 'P'), r(1, 'probs'), r(2, 'X'), r(3, 'D'), r(4, 'small'), r(5, 'Hin'), w(6, 'Hout'), w(7, 'Ht')],
    overrides: ['WG', 'K', 'PPT', 'PSTRIDE', 'SSTRIDE', 'SPARSE', 'FILL', 'SPLIT'],
    workgroup: 64,
  },
  w_num: {
    name: 'w_num',
    file: 'w_num.wgsl',
    bindings: [u(0, 'P'), r(1, 'X'), r(2, 'D'), r(3, 'H'), w(4, 'wpart'), w(5, 'hpart'), r(6, 'Ht')],
    overrides: ['WG', 'K', 'PPT', 'CPT', 'SPARSE', 'FILL'],
    workgroup: 64,
  },
  w_reduce: {
    name: 'w_reduce',
    file: 'w_reduce.wgsl',
    bindings: [u(0, 'P'), r(1, 'wpart'), r(2, 'hpart'), r(3, 'H'), w(4, 'wnum'), w(5, 'small')],
    overrides: ['WG', 'K', 'SSTRIDE'],
    workgroup: 64,
    waitWeight: 0,
  },
  w_update: {
    name: 'w_update',
    file: 'w_update.wgsl',
    bindings: [u(0, 'P'), r(1, 'probs'), r(2, 'G'), r(3, 'wnum'), r(4, 'Win'), w(5, 'Wout'), w(6, 'D'), w(7, 'small'), w(8, 'Wprev')],
    overrides: ['WG', 'K', 'PSTRIDE', 'SSTRIDE'],
    workgroup: MAX_K,
    waitWeight: 0,
  },
  // the same W step with a whole workgroup per problem (GPUs; EngineOptions.wUpdate)
  w_update_wg: {
    name: 'w_update_wg',
    file: 'w_update_wg.wgsl',
    bindings: [u(0, 'P'), r(1, 'probs'), r(2, 'G'), r(3, 'wnum'), r(4, 'Win'), w(5, 'Wout'), w(6, 'D'), w(7, 'small'), w(8, 'Wprev')],
    overrides: ['WG', 'K', 'PSTRIDE', 'SSTRIDE'],
    workgroup: 256,
    waitWeight: 0,
  },
  // SmoothNMFOptions.extrapolation: H's next start, after the W step
  h_extrapolate: {
    name: 'h_extrapolate',
    file: 'h_extrapolate.wgsl',
    bindings: [u(0, 'P'), r(1, 'probs'), w(2, 'H'), w(3, 'Hprev')],
    overrides: ['WG', 'K', 'PSTRIDE'],
    workgroup: 64,
    waitWeight: 0,
  },
  loss: {
    name: 'loss',
    file: 'loss.wgsl',
    bindings: [u(0, 'P'), r(1, 'probs'), r(2, 'X'), r(3, 'D'), r(4, 'small'), r(5, 'H'), r(6, 'Hprev'), w(7, 'lpart')],
    overrides: ['WG', 'K', 'PPT', 'PSTRIDE', 'SSTRIDE', 'SPARSE', 'FILL'],
    workgroup: 64,
  },
  // ---- analysis modes (src/gpu/modes/) ----
  nnls_prep: {
    name: 'nnls_prep',
    file: 'nnls_prep.wgsl',
    bindings: [u(0, 'P'), r(1, 'X'), r(2, 'D'), w(3, 'B'), w(4, 'A'), w(5, 'Y'), w(6, 'S')],
    overrides: ['WG', 'K'],
    workgroup: 64,
  },
  nnls_fista: {
    name: 'nnls_fista',
    file: 'nnls_fista.wgsl',
    bindings: [u(0, 'P'), r(1, 'consts'), r(2, 'B'), r(3, 'chunkOn'), w(4, 'A'), w(5, 'Y'), w(6, 'S'), w(7, 'part')],
    overrides: ['WG', 'K'],
    workgroup: 64,
  },
  nnls_kl: {
    name: 'nnls_kl',
    file: 'nnls_kl.wgsl',
    bindings: [u(0, 'P'), r(1, 'X'), r(2, 'D'), r(3, 'colsum'), w(4, 'H'), w(5, 'part')],
    overrides: ['WG', 'K'],
    workgroup: 64,
  },
  pca_ztq: {
    name: 'pca_ztq',
    file: 'pca_ztq.wgsl',
    bindings: [u(0, 'P'), r(1, 'Z'), r(2, 'Q'), w(3, 'A')],
    overrides: ['WG', 'K'],
    workgroup: 64,
  },
  pca_zza: {
    name: 'pca_zza',
    file: 'pca_zza.wgsl',
    bindings: [u(0, 'P'), r(1, 'Z'), r(2, 'A'), w(3, 'Y')],
    overrides: ['WG', 'K'],
    workgroup: 64,
  },
};

export function shaderSource(decl: KernelDecl, sources: Readonly<Record<string, string>> = SHADERS): string {
  const src = sources[decl.file];
  if (src === undefined) {
    throw new WebnmfError('runtime', `shader ${decl.file} is missing from src/gpu/shaders.gen.ts: run node scripts/embed-shaders.mjs`);
  }
  return src;
}

/** Per-adapter tuning of the kernels that have variants (see EngineOptions). */
export interface KernelTuning {
  /** w_num: channels per thread. */
  cpt?: number;
  /** w_num: workgroup size. */
  wgNum?: number;
  /** h_update: threads per pixel group (a power of two ≤ its workgroup). */
  split?: number;
  /** h_update, w_num, loss: X in the sparse layout (an override: dense pipelines carry no sparse code). */
  sparse?: boolean;
  /** h_update, w_num, loss: the u16 counts hold the fill sentinel 0xffff (decoded as Params.xTiny). */
  fill?: boolean;
}

/** The values of a kernel's overrides: its `workgroup`, k, pixels per thread, tuning, strides. */
export function overrideValues(decl: KernelDecl, k: number, ppt: number, tune: KernelTuning): Record<string, number> {
  const wg = decl.name === 'w_num' ? (tune.wgNum ?? decl.workgroup) : decl.workgroup;
  return { WG: wg, K: k, PPT: ppt, CPT: tune.cpt ?? 1, PSTRIDE, SSTRIDE, SPARSE: tune.sparse ? 1 : 0, FILL: tune.fill ? 1 : 0, SPLIT: tune.split ?? 1 };
}

export interface CompiledKernel {
  readonly decl: KernelDecl;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/**
 * Compiles kernels once per device. Cache key: the kernel name and the values of the overrides
 * it declares — exactly what makes two pipelines differ: k, the X format's pixels per thread
 * (4 float32, 8 packed u16), the tuning (channels per thread, workgroup size) and the strides.
 * Concurrent requests for the same key share one compile.
 */
export class KernelCache {
  private readonly pipelines = new Map<string, Promise<CompiledKernel>>();
  private readonly modules = new Map<string, Promise<GPUShaderModule>>();

  /** `sources` replaces the embedded WGSL (tests inject broken shaders through it). */
  constructor(
    private readonly device: GPUDevice,
    private readonly sources: Readonly<Record<string, string>> = SHADERS,
  ) {}

  get(name: KernelName, k: number, ppt = 4, tune: KernelTuning = {}): Promise<CompiledKernel> {
    const decl = KERNELS[name];
    const values = overrideValues(decl, k, ppt, tune);
    const key = `${name}|${decl.overrides.map((o) => `${o}=${values[o]}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(decl, values);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private module(decl: KernelDecl): Promise<GPUShaderModule> {
    let m = this.modules.get(decl.file);
    if (!m) {
      m = (async () => {
        const code = shaderSource(decl, this.sources);
        const mod = this.device.createShaderModule({ label: decl.file, code });
        const info = await mod.getCompilationInfo();
        const errors = info.messages.filter((msg) => msg.type === 'error');
        if (errors.length > 0) {
          const lines = code.split('\n');
          const text = errors
            .map((e) => `${decl.file}:${e.lineNum}:${e.linePos}: ${e.message}\n    ${lines[e.lineNum - 1] ?? ''}`)
            .join('\n');
          throw new WebnmfError('device', `WGSL compile error in kernel ${decl.name}:\n${text}`);
        }
        return mod;
      })();
      this.modules.set(decl.file, m);
      m.catch(() => this.modules.delete(decl.file));
    }
    return m;
  }

  private async compile(decl: KernelDecl, values: Record<string, number>): Promise<CompiledKernel> {
    const module = await this.module(decl);
    const constants: Record<string, number> = {};
    for (const o of decl.overrides) constants[o] = values[o];
    const layout = this.device.createBindGroupLayout({
      label: `${decl.name} layout`,
      entries: decl.bindings.map((b) => ({
        binding: b.binding,
        visibility: STAGE_COMPUTE,
        buffer: { type: b.type === 'uniform' ? 'uniform' : b.access === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: `${decl.name} ${JSON.stringify(constants)}`,
        layout: this.device.createPipelineLayout({ label: `${decl.name} pipeline layout`, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants },
      });
      return { decl, pipeline, layout };
    } catch (e) {
      throw new WebnmfError('device', `creating the pipeline of kernel ${decl.name} (${JSON.stringify(constants)}) failed: ${(e as Error).message}`);
    }
  }

  /** Builds a bind group from named buffers, checked against the declaration. */
  bindGroup(kernel: CompiledKernel, buffers: Record<string, GPUBuffer | GPUBufferBinding>, label?: string): GPUBindGroup {
    return this.device.createBindGroup({
      label: label ?? kernel.decl.name,
      layout: kernel.layout,
      entries: kernel.decl.bindings.map((b) => {
        const res = buffers[b.name];
        if (!res) throw new WebnmfError('runtime', `kernel ${kernel.decl.name}: no buffer for binding ${b.name}`);
        const resource: GPUBufferBinding = 'mapState' in res ? { buffer: res } : res;
        return { binding: b.binding, resource };
      }),
    });
  }
}
