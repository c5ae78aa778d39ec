/**
 * The webnmf GPU benchmark suite in Node (the browser runs the same suite: demo/bench.html).
 *
 *   npm run bench                                   # the default full set (a few minutes on lavapipe)
 *   npm run bench -- --quick                        # small subset, < 2 minutes on lavapipe
 *   npm run bench -- toy-notebook edx-64x64x512     # by name or prefix (all k of a size)
 *   npm run bench -- --list                         # the workloads
 *   options: --peak-gbps N (nominal bandwidth → roofline fraction), --repeats N (default 5),
 *            --no-cpu (skip the reference: nothing verified), --auto-cpu (autoFit on the CPU too),
 *            --out DIR (default bench/results)
 *
 * Node needs a Vulkan ICD for Dawn, e.g. VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json
 * (lavapipe, software). Writes <out>/<date>-<adapter>.{json,md,svg}; exits 1 if a result failed
 * its verification.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, svgPlot } from './report.js';
import { WORKLOADS, runSuite, selectWorkloads, type BenchEnv } from './suite.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const valued = new Set(['--peak-gbps', '--repeats', '--out']);
const names = argv.filter((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1] ?? ''));

if (flag('--list') || flag('--help')) {
  console.log('workloads (q = in --quick, f = in the default full run):');
  for (const w of WORKLOADS) console.log(`  ${w.quick ? 'q' : ' '}${w.full ? 'f' : ' '} ${w.name.padEnd(26)} ${w.description}`);
  process.exit(0);
}

const quick = flag('--quick');
const peak = value('--peak-gbps');
const reps = value('--repeats');
const opts = { quick, peakGbps: peak ? Number(peak) : undefined, repeats: reps ? Number(reps) : undefined, noCpu: flag('--no-cpu'), autoCpu: flag('--auto-cpu') };

// the repository root, from dist/bench/run.js (compiled) or bench/run.ts (run from source)
const here = new URL('.', import.meta.url);
const repoRoot = new URL(here.pathname.includes('/dist/bench') ? '../../' : '../', here);
const toyDirs = ['shared/fixtures/espm-toy/', '../shared/fixtures/espm-toy/'].map((d) => new URL(d, repoRoot));
let toyDir: URL | null | undefined;
const findToy = (): URL | null => {
  if (toyDir !== undefined) return toyDir;
  toyDir = null;
  for (const d of toyDirs) {
    try {
      readFileSync(new URL('toy.json', d));
      toyDir = d;
      break;
    } catch {
      /* next */
    }
  }
  return toyDir;
};

let peakRss = 0;
const env: BenchEnv = {
  platform: 'node',
  async readToyFile(rel) {
    const d = findToy();
    if (!d) return null;
    try {
      return new Uint8Array(readFileSync(new URL(rel, d)));
    } catch {
      return null;
    }
  },
  peakMemoryBytes() {
    peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    return peakRss;
  },
  memoryBytes: () => process.memoryUsage().rss,
  log: (m) => console.log(m),
  pause: () => new Promise((r) => setImmediate(r)),
};

const sh = (cmd: string): string | null => {
  try {
    return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'], cwd: fileURLToPath(repoRoot) }).toString().trim();
  } catch {
    return null;
  }
};
const require = createRequire(import.meta.url);
const pkgVersion = (name: string): string | null => {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
};
const own = JSON.parse(readFileSync(new URL('package.json', repoRoot), 'utf8')) as { version: string };
const cpus = os.cpus();
const machine = {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  hostname: os.hostname(),
  vkIcd: process.env.VK_ICD_FILENAMES ?? null,
  note: 'shared machine: other processes may run; wall times are noisy',
};
const versions = { webnmf: own.version, gitCommit: sh('git rev-parse --short HEAD'), gitDirty: (sh('git status --porcelain') ?? '').length > 0, node: process.version, webgpu: pkgVersion('webgpu') };

const workloads = selectWorkloads(names, quick);
console.log(`webnmf bench: ${workloads.length} workload(s)${quick ? ' (--quick)' : ''}: ${workloads.map((w) => w.name).join(', ')}`);
const result = await runSuite(env, opts, workloads, { machine, versions });

const outDir = value('--out') ? new URL(`${value('--out')!.replace(/\/?$/, '/')}`, `file://${process.cwd()}/`) : new URL('bench/results/', repoRoot);
mkdirSync(outDir, { recursive: true });
const slug = (result.adapter.name ?? 'no-webgpu').toLowerCase().replace(/\(.*?\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);
const base = `${result.date.slice(0, 10)}-${slug}${quick ? '-quick' : ''}`;
writeFileSync(new URL(`${base}.json`, outDir), JSON.stringify(result, null, 2) + '\n');
const md = markdownTable(result);
writeFileSync(new URL(`${base}.md`, outDir), md);
writeFileSync(new URL(`${base}.svg`, outDir), svgPlot(result));
console.log('\n' + md);
console.log(`wrote ${fileURLToPath(new URL(`${base}.{json,md,svg}`, outDir))}`);
process.exit(result.allVerified ? 0 : 1);
