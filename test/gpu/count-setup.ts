/**
 * vitest globalSetup for the GPU suites: clears the per-file counts before the run and prints
 * their sum after it. With WEBNMF_REQUIRE_GPU=1 a run in which no GPU test ran fails here too.
 * Hook it in with `globalSetup: ['test/gpu/count-setup.ts']` (done in test/gpu/vitest.gpu.config.ts).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const DIR = join(tmpdir(), 'webnmf-gpu-count');

export function setup(): void {
  rmSync(DIR, { recursive: true, force: true });
}

export function teardown(): void {
  let ran = 0;
  let notRun = 0;
  const reasons = new Set<string>();
  if (existsSync(DIR)) {
    for (const f of readdirSync(DIR)) {
      const c = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { ran: number; notRun: number; reason?: string };
      ran += c.ran;
      notRun += c.notRun;
      if (c.reason) reasons.add(c.reason);
    }
  }
  console.log(`\n[webnmf gpu] GPU tests that ran: ${ran}; not run: ${notRun}${reasons.size ? ` (${[...reasons].join('; ')})` : ''}`);
  if (process.env.WEBNMF_REQUIRE_GPU === '1' && ran === 0) {
    throw new Error('WEBNMF_REQUIRE_GPU=1 but no GPU test ran');
  }
}
