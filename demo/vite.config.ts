/**
 * The webnmf browser app. Build: `vite build --config demo/vite.config.ts` (writes demo/dist);
 * develop: `vite --config demo/vite.config.ts`. The library is imported from ../src directly.
 * Pages: index.html (the app) and bench.html (the benchmark suite, same workloads as `npm run bench`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: demo/dist works from any static server path (or a sub-folder of a site).
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // h5wasm inlines its WebAssembly (a few MB); it is a lazy chunk, loaded only for HDF5 files.
    chunkSizeWarningLimit: 6000,
    // Two pages: the app and the GPU benchmark (bench/suite.ts in the browser).
    rollupOptions: { input: { main: fileURLToPath(new URL('index.html', import.meta.url)), bench: fileURLToPath(new URL('bench.html', import.meta.url)) } },
  },
  // ES-module workers, so the worker can split out the readers and h5wasm with dynamic import().
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  preview: { host: '127.0.0.1' },
});
