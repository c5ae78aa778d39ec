/**
 * The webnmf browser app. Build: `vite build --config demo/vite.config.ts` (writes demo/dist);
 * develop: `vite --config demo/vite.config.ts`. The library is imported from ../src directly.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const librarySrc = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Library parts that are loaded with dynamic import() and are not in this checkout yet (a mode
 * whose GPU path is still being written) become a module that throws a clear "not available in
 * this build" error when that path is taken, instead of failing the whole app build. Static
 * imports of missing files still fail the build.
 */
function optionalLibraryParts(): Plugin {
  const prefix = '\0webnmf-missing:';
  return {
    name: 'webnmf-optional-library-parts',
    enforce: 'pre',
    resolveId(source, importer, options) {
      const kind = (options as { kind?: string } | undefined)?.kind;
      if (kind !== 'dynamic-import' || !importer || !source.startsWith('.') || !importer.startsWith(librarySrc)) return null;
      const target = resolve(dirname(importer), source);
      if ([target, target.replace(/\.js$/, '.ts')].some((f) => existsSync(f))) return null;
      this.warn(`${source} (imported by ${importer.slice(librarySrc.length - 4)}) is missing: that path reports "not available in this build"`);
      return prefix + target.slice(librarySrc.length - 4);
    },
    load(id) {
      if (!id.startsWith(prefix)) return null;
      const what = JSON.stringify(id.slice(prefix.length));
      return `throw new Error('not available in this build: ' + ${what} + ' is missing from the library');`;
    },
  };
}

export default defineConfig({
  root,
  plugins: [optionalLibraryParts()],
  // Relative asset URLs: demo/dist works from any static server path (or a sub-folder of a site).
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // h5wasm inlines its WebAssembly (a few MB); it is a lazy chunk, loaded only for HDF5 files.
    chunkSizeWarningLimit: 6000,
  },
  // ES-module workers, so the worker can split out the readers and h5wasm with dynamic import().
  worker: { format: 'es', plugins: () => [optionalLibraryParts()] },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  preview: { host: '127.0.0.1' },
});
