/**
 * vitest globalSetup for the GPU suites (Node): clears the per-file counts before the run and
 * prints their sum after it as "GPU tests that ran: N (node, <adapter>)". With
 * WEBNMF_REQUIRE_GPU=1 a run in which no GPU test ran fails here too.
 * Hook it in with `globalSetup: ['test/gpu/count-setup.ts']` (done in test/gpu/vitest.gpu.config.ts).
 * The browser run (test/browser/run.mjs) prints the same line with "(chromium, <adapter>)".
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { GpuFileCount } from './harness.js';

/**
 * One fresh directory per run, handed to the test workers through the environment (vitest builds
 * the workers' environment after globalSetup): runs beside each other (other checkouts share
 * $TMPDIR) never add up each other's counts.
 */
let DIR = '';

export function setup(): void {
  DIR = mkdtempSync(join(tmpdir(), 'webnmf-gpu-count-'));
  process.env.WEBNMF_GPU_COUNT_DIR = DIR;
}

export function teardown(): void {
  let ran = 0;
  let notRun = 0;
  const reasons = new Set<string>();
  const adapters = new Set<string>();
  if (existsSync(DIR)) {
    for (const f of readdirSync(DIR)) {
      const c = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as GpuFileCount;
      ran += c.ran;
      notRun += c.notRun;
      if (c.reason) reasons.add(c.reason);
      if (c.adapter) adapters.add(c.adapter);
    }
  }
  const where = ['node', ...(adapters.size ? adapters : reasons.size ? ['no adapter'] : [])].join(', ');
  rmSync(DIR, { recursive: true, force: true });
  console.log(`\n[webnmf gpu] GPU tests that ran: ${ran} (${where}); not run: ${notRun}${reasons.size ? ` (${[...reasons].join('; ')})` : ''}`);
  if (process.env.WEBNMF_REQUIRE_GPU === '1' && ran === 0) {
    throw new Error('WEBNMF_REQUIRE_GPU=1 but no GPU test ran');
  }
}
