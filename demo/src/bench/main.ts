/**
 * The bench page (demo/bench.html): runs bench/suite.ts in this tab on the browser's WebGPU
 * adapter and the CPU reference, shows the Markdown table (as HTML) and the SVG plot, and offers
 * the same JSON that `npm run bench` writes.
 */
import { markdownTable, svgPlot } from '../../../bench/report';
import { WORKLOADS, runSuite, type BenchEnv, type BenchResult } from '../../../bench/suite';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const logEl = $<HTMLPreElement>('log');
const log = (m: string) => {
  logEl.textContent += m + '\n';
  logEl.scrollTop = logEl.scrollHeight;
};

// ---- workload checkboxes ------------------------------------------------------------------------
const box = $<HTMLDivElement>('workloads');
const checks = new Map<string, HTMLInputElement>();
for (const w of WORKLOADS) {
  const label = document.createElement('label');
  label.title = w.description;
  const cb = document.createElement('input');
  cb.type = 'checkbox';
  cb.checked = w.quick;
  cb.dataset.name = w.name;
  label.append(cb, ` ${w.name}${w.quick ? ' (q)' : ''}`);
  box.append(label);
  checks.set(w.name, cb);
}
const select = (pred: (w: (typeof WORKLOADS)[number]) => boolean) => {
  for (const w of WORKLOADS) checks.get(w.name)!.checked = pred(w);
};
$('sel-quick').onclick = () => {
  select((w) => w.quick);
  $<HTMLInputElement>('quick').checked = true;
};
$('sel-full').onclick = () => {
  select((w) => w.full);
  $<HTMLInputElement>('quick').checked = false;
};
$('sel-none').onclick = () => select(() => false);

// ---- adapter probe ------------------------------------------------------------------------------
(async () => {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const el = $('adapter');
  if (!gpu) {
    el.textContent = 'No WebGPU in this browser (navigator.gpu is undefined): only the CPU reference will run.';
    return;
  }
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!a) {
    el.textContent = 'WebGPU is present but no adapter was returned: only the CPU reference will run.';
    return;
  }
  const i = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  el.textContent = `WebGPU adapter: ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unknown'}${i.isFallbackAdapter ? ' (fallback adapter: software)' : ''}; timestamp-query: ${a.features.has('timestamp-query')}`;
})();

// ---- ESPM toy fixtures: a picked folder, or ?toy=URL ---------------------------------------------
const picked = new Map<string, File>();
$<HTMLInputElement>('toy-dir').onchange = (ev) => {
  picked.clear();
  for (const f of Array.from((ev.target as HTMLInputElement).files ?? [])) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? f.name;
    picked.set(rel.split('/').slice(1).join('/'), f); // strip the picked folder's own name
  }
  $('toy-info').textContent = picked.has('X.npy') ? `${picked.size} files picked: toy fixtures ready` : `${picked.size} files picked, but no X.npy at the top: pick the espm-toy folder itself`;
};
const toyUrl = new URLSearchParams(location.search).get('toy');

const env: BenchEnv = {
  platform: 'browser',
  async readToyFile(rel) {
    const f = picked.get(rel);
    if (f) return new Uint8Array(await f.arrayBuffer());
    if (!toyUrl) return null;
    try {
      const res = await fetch(new URL(rel, new URL(toyUrl.replace(/\/?$/, '/'), location.href)));
      return res.ok ? new Uint8Array(await res.arrayBuffer()) : null;
    } catch {
      return null;
    }
  },
  peakMemoryBytes: () => null,
  memoryBytes: () => (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null,
  log,
  pause: () => new Promise((r) => setTimeout(r, 0)),
};

// ---- results ------------------------------------------------------------------------------------
let last: { result: BenchResult; md: string; svg: string } | null = null;
const download = (name: string, text: string, type: string) => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};
const baseName = (r: BenchResult) => `${r.date.slice(0, 10)}-${(r.adapter.name ?? 'no-webgpu').toLowerCase().replace(/\(.*?\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48)}${r.quick ? '-quick' : ''}`;
$('dl-json').onclick = () => last && download(`${baseName(last.result)}.json`, JSON.stringify(last.result, null, 2) + '\n', 'application/json');
$('dl-md').onclick = () => last && download(`${baseName(last.result)}.md`, last.md, 'text/markdown');
$('dl-svg').onclick = () => last && download(`${baseName(last.result)}.svg`, last.svg, 'image/svg+xml');

/** The Markdown of report.ts as HTML: tables become <table>, the rest paragraphs and lists. */
function markdownToHtml(md: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i].startsWith('|')) {
        if (!/^\|[-| ]+\|$/.test(lines[i])) rows.push(lines[i].slice(1, -1).split(' | ').map((c) => c.trim()));
        i++;
      }
      i--;
      out.push('<table><thead><tr>' + rows[0].map((c) => `<th>${esc(c)}</th>`).join('') + '</tr></thead><tbody>' + rows.slice(1).map((r) => '<tr>' + r.map((c) => `<td>${esc(c)}</td>`).join('') + '</tr>').join('') + '</tbody></table>');
    } else if (l.startsWith('### ')) out.push(`<h2>${esc(l.slice(4))}</h2>`);
    else if (l.startsWith('- ')) out.push(`<div>• ${esc(l.slice(2))}</div>`);
    else if (l.trim()) out.push(`<p>${esc(l)}</p>`);
  }
  return out.join('\n');
}

$('run').onclick = async () => {
  const btn = $<HTMLButtonElement>('run');
  btn.disabled = true;
  logEl.textContent = '';
  try {
    const chosen = WORKLOADS.filter((w) => checks.get(w.name)!.checked);
    if (chosen.length === 0) throw new Error('no workload selected');
    const peak = Number($<HTMLInputElement>('peak').value);
    const opts = {
      quick: $<HTMLInputElement>('quick').checked,
      repeats: Math.max(1, Number($<HTMLInputElement>('repeats').value) || 5),
      peakGbps: peak > 0 ? peak : undefined,
      autoCpu: $<HTMLInputElement>('auto-cpu').checked,
    };
    const nav = navigator as Navigator & { deviceMemory?: number; userAgentData?: { platform?: string } };
    const machine = { userAgent: navigator.userAgent, platform: nav.userAgentData?.platform ?? navigator.platform, cores: navigator.hardwareConcurrency, deviceMemoryGiB: nav.deviceMemory ?? null };
    const versions = { browser: navigator.userAgent, webnmf: 'demo build' };
    log(`running ${chosen.length} workload(s): ${chosen.map((w) => w.name).join(', ')}`);
    const result = await runSuite(env, opts, chosen, { machine, versions });
    const md = markdownTable(result);
    const svg = svgPlot(result);
    last = { result, md, svg };
    $('bench-results').innerHTML = markdownToHtml(md) + `<div class="plot">${svg}</div>`;
    for (const id of ['dl-json', 'dl-md', 'dl-svg']) $<HTMLButtonElement>(id).disabled = false;
    log(`done in ${result.totalSeconds} s; verified ${result.verifiedCount} of ${result.workloads.length}${result.failed.length ? `; FAILED: ${result.failed.join(", ")}` : ""}`);
  } catch (e) {
    log(`error: ${(e as Error).message}`);
  } finally {
    btn.disabled = false;
  }
};
