#!/usr/bin/env node
/**
 * The GPU suite (test/gpu/*.test.ts) in headless Chromium (WebGPU on SwiftShader), next to the
 * Node run (vitest + Dawn, test/gpu/vitest.gpu.config.ts). The same test files, unchanged:
 *
 *  - Vite bundles test/browser/page.ts, which imports every test/gpu/*.test.ts (and the browser
 *    variants in test/browser/variants/), with 'vitest' aliased to test/browser/shims/vitest.ts
 *    (vitest's own runner and matchers: @vitest/runner, @vitest/expect), 'webgpu' to
 *    navigator.gpu, and node:fs/url/path/os to small shims; node:fs reads files from this
 *    runner's server through synchronous requests (fixtures under ../shared, shaders/).
 *    In test files import.meta.url is replaced by the source file's file: URL, so paths
 *    relative to a test file mean the same in both environments.
 *  - A static server on 127.0.0.1 (a secure context) serves the bundle, plus /@fs/ and /@ls/
 *    under the repository and ../shared only.
 *  - playwright-core drives Debian's Chromium (never `npx playwright install`), prints each
 *    test's result, the tests that do not run in the browser with their reason
 *    (test/browser/plan.ts), and "GPU tests that ran: N (chromium, <adapter>)".
 *
 * Exit status 1 on any failure, and with WEBNMF_REQUIRE_GPU=1 also when no GPU test ran (no
 * adapter: then every GPU test fails anyway).
 *
 *   node test/browser/run.mjs
 *   WEBNMF_REQUIRE_GPU=1 node test/browser/run.mjs
 *   BROWSER_ONLY=kernels,fit node test/browser/run.mjs     # only these files (name prefixes)
 *   BROWSER_SKIP_BUILD=1                                   # reuse test-results/browser/dist
 *   CHROMIUM_PATH=/path/to/chromium                        # default /usr/bin/chromium
 *   BROWSER_NO_WEBGPU=1                                    # launch without --enable-unsafe-webgpu: checks the
 *                                                          # no-adapter path (skipped, or failed with WEBNMF_REQUIRE_GPU=1)
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const t0 = Date.now();
const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const here = join(repo, 'test/browser');
const dist = join(repo, 'test-results/browser/dist');
const shim = (f) => join(here, 'shims', f);
const requireGpu = process.env.WEBNMF_REQUIRE_GPU === '1';
const only = (process.env.BROWSER_ONLY ?? '').split(',').filter(Boolean);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
/** Error text for the log: no colour codes unless on a terminal, at most 30 lines. */
const errorText = (text) => {
  const plain = process.stdout.isTTY ? text : text.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = plain.split('\n');
  return lines.length <= 30 ? plain : [...lines.slice(0, 30), `… (${lines.length - 30} more lines)`].join('\n');
};

// ---- build ---------------------------------------------------------------------------------------
/** import.meta.url in a test file = its source file's URL (the bundle's URL would mean nothing). */
const sourceMetaUrl = {
  name: 'webnmf-source-import-meta-url',
  enforce: 'pre',
  transform(code, id) {
    const file = id.split('?')[0];
    if (!file.startsWith(join(repo, 'test') + sep) || !code.includes('import.meta.url')) return null;
    return { code: code.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(file).href)), map: null };
  },
};
if (!process.env.BROWSER_SKIP_BUILD) {
  await build({
    configFile: false,
    root: here,
    logLevel: 'warn',
    plugins: [sourceMetaUrl],
    resolve: {
      alias: [
        { find: /^vitest$/, replacement: shim('vitest.ts') },
        { find: /^webgpu$/, replacement: shim('webgpu.ts') },
        { find: /^node:fs$/, replacement: shim('node-fs.ts') },
        { find: /^node:url$/, replacement: shim('node-url.ts') },
        { find: /^node:path$/, replacement: shim('node-path.ts') },
        { find: /^node:os$/, replacement: shim('node-os.ts') },
      ],
    },
    define: { __WEBNMF_REPO__: JSON.stringify(repo) },
    build: {
      outDir: dist,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      sourcemap: false,
      chunkSizeWarningLimit: 1e6,
      reportCompressedSize: false,
      // the test files import modules that src/ also loads lazily: expected, not worth a warning
      rollupOptions: { onwarn: (w, warn) => w.code !== 'INEFFECTIVE_DYNAMIC_IMPORT' && warn(w) },
    },
  });
  console.log(`built the browser bundle of the GPU suites in ${secs(Date.now() - t0)}`);
}
if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist}/index.html is missing: run without BROWSER_SKIP_BUILD`);

// ---- serve ---------------------------------------------------------------------------------------
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };
/** What /@fs/ and /@ls/ may read: the repository and the shared fixtures beside it. */
const roots = [repo, resolve(repo, '../shared')].map((r) => r + sep);
const allowed = (p) => roots.some((r) => p === r.slice(0, -1) || p.startsWith(r));
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = decodeURIComponent(url.pathname);
  const m = /^\/@(fs|ls)(\/.*)$/.exec(path);
  if (m) {
    const file = normalize(m[2]);
    if (!allowed(file) || !existsSync(file)) return res.writeHead(404).end();
    const st = statSync(file);
    const headers = { 'x-webnmf-kind': st.isDirectory() ? 'dir' : 'file', 'x-webnmf-size': String(st.size), 'cache-control': 'no-store' };
    if (m[1] === 'ls') {
      if (!st.isDirectory()) return res.writeHead(404).end();
      return res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(readdirSync(file)));
    }
    if (req.method === 'HEAD' || st.isDirectory()) return res.writeHead(200, headers).end();
    res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': st.size });
    return createReadStream(file).pipe(res);
  }
  if (path === '/favicon.ico') return res.writeHead(204).end();
  const file = normalize(join(dist, path === '/' ? '/index.html' : path));
  if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

// ---- browser ---------------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(process.env.BROWSER_NO_WEBGPU ? [] : ['--enable-unsafe-webgpu'])],
});
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));

const results = [];
const ICON = { pass: 'ok  ', fail: 'FAIL', skip: 'skip', todo: 'todo' };
await page.exposeFunction('__webnmfEvent', (e) => {
  if (e.type === 'file') console.log(`\n${e.file}`);
  else if (e.type === 'log') {
    if (e.text.startsWith('[webnmf gpu]')) console.log(`  ${e.text}`);
  } else if (e.type === 'test') {
    results.push(e);
    console.log(`  ${ICON[e.state] ?? e.state} ${e.name}${e.state === 'pass' || e.state === 'fail' ? ` (${secs(e.ms)})` : ''}${e.note ? ` [${e.note}]` : ''}`);
    for (const err of e.errors ?? []) console.log(`       ${errorText(err).replaceAll('\n', '\n       ')}`);
  }
});
await page.goto(base);
await page.waitForFunction(() => typeof window.__webnmfRun === 'function', null, { timeout: 60_000 });
const gpuInfo = await page.evaluate(async () => {
  if (!navigator.gpu) return 'navigator.gpu is undefined';
  const a = await navigator.gpu.requestAdapter();
  return a ? `adapter: ${[a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ')}` : 'requestAdapter() returned null';
});
console.log(`chromium ${browser.version()}, ${gpuInfo}`);

const summary = await page.evaluate(
  (opts) => window.__webnmfRun(opts),
  { env: { WEBNMF_REQUIRE_GPU: process.env.WEBNMF_REQUIRE_GPU }, only, testTimeout: 120_000, hookTimeout: 120_000 },
);
await browser.close();
server.close();

// ---- report ------------------------------------------------------------------------------------
const failedTests = results.filter((r) => r.state === 'fail');
const failedFiles = summary.files.filter((f) => f.state === 'fail' && !results.some((r) => r.file === f.file && r.state === 'fail'));
for (const f of failedFiles) console.log(`\nFAIL ${f.file}:\n  ${(f.errors ?? ['(no error recorded)']).map(errorText).join('\n  ')}`);
const ran = summary.counts.reduce((s, c) => s + c.ran, 0);
const notRun = summary.counts.reduce((s, c) => s + c.notRun, 0);
const adapters = [...new Set(summary.counts.map((c) => c.adapter).filter(Boolean))];
const reasons = [...new Set(summary.counts.map((c) => c.reason).filter(Boolean))];
if (summary.notInBrowser.length) {
  console.log(`\nNot run in the browser (${summary.notInBrowser.length}):`);
  for (const n of summary.notInBrowser) console.log(`  ${n.file} > ${n.name}: ${n.reason}`);
}
if (pageErrors.length) console.log(`\nbrowser console errors (${pageErrors.length}):\n  ${pageErrors.slice(0, 10).join('\n  ')}`);
const count = (s) => results.filter((r) => r.state === s).length;
console.log(`\n${summary.files.length} files, ${results.length} tests: ${count('pass')} passed, ${failedTests.length} failed, ${count('skip')} skipped (${secs(Date.now() - t0)})`);
console.log(`[webnmf gpu] GPU tests that ran: ${ran} (${['chromium', ...(adapters.length ? adapters : reasons.length ? ['no adapter'] : [])].join(', ')}); not run: ${notRun}${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
let status = failedTests.length || failedFiles.length ? 1 : 0;
if (requireGpu && ran === 0) {
  console.log('WEBNMF_REQUIRE_GPU=1 but no GPU test ran in the browser');
  status = 1;
}
process.exit(status);
