/**
 * Static checks, no GPU needed: every kernel's TS binding table agrees with its shader
 * (group, binding, type, access), the Params struct in every shader matches PARAMS_LAYOUT,
 * the declared overrides exist, and src/gpu/shaders.gen.ts is up to date with shaders/*.wgsl.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ResourceType, WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KERNELS, PARAMS_LAYOUT } from '../../src/gpu/kernels.js';
import { SHADERS } from '../../src/gpu/shaders.gen.js';
import { expandIncludes } from '../../scripts/wgsl-include.mjs';

const shaderDir = new URL('../../shaders/', import.meta.url);

describe('kernel table vs WGSL (wgsl_reflect)', () => {
  for (const decl of Object.values(KERNELS)) {
    test(decl.name, () => {
      const r = new WgslReflect(SHADERS[decl.file]);
      const groups = r.getBindGroups();
      expect(groups.length, 'bind groups').toBe(1);
      const actual = groups[0]
        .filter((b) => b !== undefined)
        .map((b) => ({
          binding: b.binding,
          group: b.group,
          name: b.name,
          type: b.resourceType === ResourceType.Uniform ? 'uniform' : b.resourceType === ResourceType.Storage ? 'storage' : 'other',
          access: b.resourceType === ResourceType.Uniform ? 'read' : b.access,
        }));
      expect(actual).toEqual(decl.bindings.map((b) => ({ binding: b.binding, group: 0, name: b.name, type: b.type, access: b.access })));
      const params = r.structs.find((s) => s.name === 'Params');
      expect(params?.members.map((m) => [m.name, m.type.name, m.offset])).toEqual(PARAMS_LAYOUT.map(([n, t], i) => [n, t, 4 * i]));
      const overrides = r.overrides.map((o) => o.name).sort();
      expect(overrides).toEqual([...decl.overrides].sort());
      expect(r.entry.compute.map((e) => e.name)).toEqual(['main']);
    });
  }
});

test('src/gpu/shaders.gen.ts matches shaders/*.wgsl (run node scripts/embed-shaders.mjs)', () => {
  const files = readdirSync(fileURLToPath(shaderDir)).filter((f) => f.endsWith('.wgsl')).sort();
  expect(Object.keys(SHADERS).sort()).toEqual(files);
  const read = (f: string) => readFileSync(fileURLToPath(new URL(f, shaderDir)), 'utf8');
  for (const f of files) expect(SHADERS[f], f).toBe(expandIncludes(read(f), read));
});
