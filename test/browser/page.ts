/// <reference types="vite/client" />
/**
 * The page side of test/browser/run.mjs: runs the GPU suites (test/gpu/*.test.ts, bundled by
 * Vite with 'vitest' aliased to ./shims/vitest.ts) and the browser variants
 * (test/browser/variants/*.browser.ts) with @vitest/runner, file by file, and streams every
 * result to the Node side through window.__webnmfEvent (a Playwright binding).
 */
import { startTests, type File, type Task, type VitestRunner } from '@vitest/runner';
import type { GpuFileCount, GpuTestHost } from '../gpu/harness.js';
import { NOT_IN_BROWSER } from './plan.js';

declare const __WEBNMF_REPO__: string;

export interface RunOptions {
  env: Record<string, string | undefined>;
  /** Only these files (base names); all when empty. */
  only: string[];
  testTimeout: number;
  hookTimeout: number;
}

export type RunEvent =
  | { type: 'file'; file: string }
  | { type: 'test'; file: string; name: string; state: string; ms: number; errors?: string[]; note?: string }
  | { type: 'count'; count: GpuFileCount }
  | { type: 'log'; text: string };

export interface RunSummary {
  files: { file: string; state: string; errors?: string[] }[];
  counts: GpuFileCount[];
  notInBrowser: { file: string; name: string; reason: string }[];
}

const emit = (e: RunEvent): Promise<void> => (window as unknown as { __webnmfEvent(e: RunEvent): Promise<void> }).__webnmfEvent(e);

const suites = import.meta.glob(['../gpu/*.test.ts', './variants/*.browser.ts']);
const byPath = new Map(Object.entries(suites).map(([rel, load]) => [new URL(rel, `file://${__WEBNMF_REPO__}/test/browser/`).pathname, load]));
const base = (p: string): string => p.split('/').pop() ?? p;

const fullName = (t: Task): string => {
  const parts = [t.name];
  for (let s = t.suite; s && !('filepath' in s); s = s.suite) parts.unshift(s.name);
  return parts.join(' > ');
};

function errorsOf(t: Task): string[] | undefined {
  const errs = t.result?.errors;
  if (!errs?.length) return undefined;
  return errs.map((e) => {
    const err = e as { name?: string; message?: string; stack?: string; diff?: string };
    const where = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 3).join('\n');
    return `${err.name ?? 'Error'}: ${err.message ?? String(e)}${err.diff ? `\n${err.diff}` : ''}${where ? `\n${where}` : ''}`;
  });
}

async function run(opts: RunOptions): Promise<RunSummary> {
  const counts: GpuFileCount[] = [];
  const notInBrowser: RunSummary['notInBrowser'] = [];
  const host: GpuTestHost = {
    environment: 'chromium',
    env: opts.env,
    async report(count) {
      counts.push(count);
      await emit({ type: 'count', count });
    },
  };
  (globalThis as { __WEBNMF_TEST_HOST__?: GpuTestHost }).__WEBNMF_TEST_HOST__ = host;
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    log(...args);
    void emit({ type: 'log', text: args.map(String).join(' ') });
  };

  const runner: VitestRunner = {
    config: {
      root: __WEBNMF_REPO__,
      setupFiles: [],
      name: 'chromium',
      passWithNoTests: false,
      testNamePattern: undefined,
      allowOnly: false,
      sequence: { shuffle: false, concurrent: false, seed: 0, hooks: 'stack', setupFiles: 'list' },
      chaiConfig: undefined,
      maxConcurrency: 1,
      testTimeout: opts.testTimeout,
      hookTimeout: opts.hookTimeout,
      retry: 0,
      includeTaskLocation: false,
      tags: [],
      tagsFilter: undefined,
      strictTags: false,
    },
    async importFile(filepath) {
      const load = byPath.get(filepath);
      if (!load) throw new Error(`not in the bundle: ${filepath}`);
      await load();
    },
    onCollected(files) {
      // Tests that do not run in a browser: marked skipped, each listed with its reason.
      for (const f of files) {
        const walk = (t: Task): void => {
          if (t.type === 'suite') {
            t.tasks.forEach(walk);
            return;
          }
          const name = fullName(t);
          const rule = NOT_IN_BROWSER.find((r) => r.file === base(f.filepath) && r.test.test(name));
          if (rule) {
            t.mode = 'skip';
            notInBrowser.push({ file: base(f.filepath), name, reason: rule.reason });
          }
        };
        f.tasks.forEach(walk);
      }
    },
    onAfterRunTask: report,
  };

  // Live, as each test ends; tests that never ran (skipped) once their file is done.
  const reported = new Set<string>();
  async function report(t: Task): Promise<void> {
    if (reported.has(t.id)) return;
    reported.add(t.id);
    const file = base((t.file as File).filepath);
    const name = fullName(t);
    const excluded = notInBrowser.find((r) => r.file === file && r.name === name);
    const note = excluded ? `not run in the browser: ${excluded.reason}` : ((t.result as { note?: string } | undefined)?.note);
    await emit({ type: 'test', file, name, state: t.result?.state ?? t.mode, ms: Math.round(t.result?.duration ?? 0), errors: errorsOf(t), note });
  }
  async function reportAll(t: Task): Promise<void> {
    if (t.type === 'suite') for (const c of t.tasks) await reportAll(c);
    else await report(t);
  }

  const files: RunSummary['files'] = [];
  const all = [...byPath.keys()].sort((a, b) => Number(a.includes('/variants/')) - Number(b.includes('/variants/')) || a.localeCompare(b));
  for (const path of all) {
    if (opts.only.length && !opts.only.some((o) => base(path).startsWith(o))) continue;
    await emit({ type: 'file', file: base(path) });
    const [f] = await startTests([path], runner);
    await reportAll(f);
    files.push({ file: base(path), state: f.result?.state ?? 'unknown', errors: errorsOf(f) });
  }
  return { files, counts, notInBrowser };
}

(window as unknown as { __webnmfRun: typeof run }).__webnmfRun = run;
document.getElementById('log')!.textContent = 'webnmf GPU suite: ready';
