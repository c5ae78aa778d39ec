/**
 * Renders a `BenchResult` as a Markdown table and as an SVG plot (it/s by workload size and
 * backend; roofline fraction, or effective bandwidth when no nominal peak was given).
 * Platform-neutral: used by bench/run.ts (files) and the browser bench page (shown inline).
 */
import type { BenchResult, Spread, WorkloadResult } from './suite.js';

const f = (v: unknown, d = 3): string => (typeof v === 'number' && Number.isFinite(v) ? (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(d)) : '–');
const rate = (s: Spread | undefined): string => (s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '–');
const mib = (b: unknown): string => (typeof b === 'number' ? (b / 2 ** 20).toFixed(0) : '–');

export function markdownTable(r: BenchResult): string {
  const lines: string[] = [];
  const a = r.adapter;
  lines.push(`### webnmf GPU bench, ${r.date.slice(0, 10)}${r.quick ? ' (--quick)' : ''}`);
  lines.push('');
  lines.push(`- Adapter: ${a.available ? `**${a.name}**${a.software ? ' — software WebGPU (CPU rasteriser), not a GPU' : ''}; fallback: ${a.fallback}; timestamp-query: ${a.timestampQuery}` : `none (${a.reason})`}`);
  lines.push(`- Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`- Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const failed = r.failed ?? [];
  const unverified = r.unverified ?? [];
  lines.push(`- Verified against the CPU float64 reference: **${r.verifiedCount ?? '?'} of ${r.workloads.length} workloads**${failed.length ? `; **FAILED: ${failed.join(', ')}**` : '; none failed'}${unverified.length ? `; not checked: ${unverified.join(', ')}` : ''}; total ${f(r.totalSeconds)} s`);
  lines.push('');
  lines.push('| workload | size | GPU it/s median (min–max) | GPU warm-up overhead s | CPU it/s | GPU/CPU | bytes/it | GB/s | roofline | disp./it | submits/it | read-backs/run | GPU pool peak MiB | peak RSS MiB | verified |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const w of r.workloads) {
    if (w.status === 'skipped' || (w.status === 'failed' && w.error)) {
      lines.push(`| ${w.name} | – | ${w.status}: ${w.error ?? ''} | | | | | | | | | | | | |`);
      continue;
    }
    const g = w.gpu ?? {};
    const c = w.cpu ?? {};
    const unit = (g.unit ?? c.unit) as string | undefined;
    const warm = (g.warmup as { overheadSeconds?: number; wallSeconds?: number } | undefined)?.overheadSeconds ?? (g.warmup as { wallSeconds?: number } | undefined)?.wallSeconds;
    lines.push(
      [
        w.name,
        w.size.label + (unit ? ` (${unit.startsWith('pixels') ? 'pixels/s' : 'see note'})` : ''),
        rate(g.itPerSecond),
        f(warm),
        rate(c.itPerSecond),
        f(w.speedup),
        typeof g.bytesPerIteration === 'number' ? `${(g.bytesPerIteration / 2 ** 20).toFixed(1)} MiB` : '–',
        f(g.effectiveGBps),
        f(g.rooflineFraction),
        f(g.dispatchesPerIteration),
        f(g.submitsPerIteration),
        f(g.readbacksPerRun),
        mib(g.poolPeakBytes),
        mib(w.peakProcessMemoryBytes),
        w.verification ? (w.verification.passed ? 'yes' : '**NO**') : '–',
      ].join(' | ').replace(/^/, '| ') + ' |',
    );
  }
  lines.push('');
  lines.push('Rates: iterations per second of one problem (batch: problem-iterations/s; NNLS: pixels/s; auto: pipeline iterations per wall second). GPU: median over ≥ 5 warm repeats of iterations ÷ traced time after set-up (first submit + loop; X upload and pipeline creation excluded); warm-up overhead = the upload + compile + first submit of the first call minus those of a warm call (pipeline and driver compile, first use); CPU: float64 reference, median over loss-sample segments of one run (big cubes: fewer iterations, per iteration). Bytes/it are a modelled lower bound.');
  const profiled = r.workloads.filter((w) => w.gpu && (w.gpu as { kernelMsPerIteration?: Record<string, number> }).kernelMsPerIteration);
  if (profiled.length) {
    const names = [...new Set(profiled.flatMap((w) => Object.keys((w.gpu as { kernelMsPerIteration: Record<string, number> }).kernelMsPerIteration)))];
    lines.push('');
    lines.push('Per-kernel GPU time, ms per iteration (timestamp queries; one profiling run per workload, one compute pass per dispatch):');
    lines.push('');
    lines.push(`| workload | ${names.join(' | ')} |`);
    lines.push(`|---|${names.map(() => '---').join('|')}|`);
    for (const w of profiled) {
      const km = (w.gpu as { kernelMsPerIteration: Record<string, number> }).kernelMsPerIteration;
      lines.push(`| ${w.name} | ${names.map((nm) => (km[nm] === undefined ? '–' : String(km[nm]))).join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push('Recorded peer figures (from docs/espm-smoothnmf.md §9, a 2-core x86-64 machine; **recorded, not re-measured**):');
  lines.push('');
  lines.push('| peer | workload | it/s |');
  lines.push('|---|---|---|');
  for (const p of r.recordedPeers) lines.push(`| ${p.who} | ${p.workload} | ${p.itPerSecond[0]}–${p.itPerSecond[1]} (recorded) |`);
  lines.push('');
  const noted = r.workloads.filter((w) => w.notes.length);
  if (noted.length) {
    lines.push('Notes:');
    for (const w of noted) for (const n of w.notes) lines.push(`- ${w.name}: ${n}`);
    lines.push('');
  }
  lines.push('Missing:');
  for (const m of r.missing) lines.push(`- ${m}`);
  lines.push('');
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels: it/s (log scale) per workload for WebGPU and CPU; roofline fraction (or GB/s). */
export function svgPlot(r: BenchResult): string {
  const ws: WorkloadResult[] = r.workloads.filter((w) => w.status !== 'skipped' && (w.gpu?.itPerSecond || w.cpu?.itPerSecond) && !w.gpu?.unit && !w.cpu?.unit);
  ws.sort((a, b) => a.size.elements * a.size.k - b.size.elements * b.size.k || a.name.localeCompare(b.name));
  const W = Math.max(640, 170 + ws.length * 60);
  const H1 = 300;
  const H2 = 200;
  const left = 60;
  const top = 50;
  const plotW = W - left - 110;
  const out: string[] = [];
  const Ht = top + H1 + 110 + H2 + 110;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Ht}" viewBox="0 0 ${W} ${Ht}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  const title = `webnmf bench ${r.date.slice(0, 10)}${r.adapter.software ? ' — software WebGPU, not a GPU' : ''}`;
  out.push(`<text x="${left}" y="14" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="27" font-size="10">${esc((r.adapter.name ?? 'no WebGPU adapter').slice(0, 120))}</text>`);
  // panel 1: it/s log scale
  const vals = ws.flatMap((w) => [w.gpu?.itPerSecond?.median, w.cpu?.itPerSecond?.median]).filter((v): v is number => typeof v === 'number' && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, 10))));
  const y = (v: number) => top + H1 - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * H1;
  out.push(`<text x="${left}" y="${top - 6}">iterations / s (log scale) by workload, ordered by size (n·p·k)</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/><text x="${left - 4}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toPrecision(1)}</text>`);
  }
  const slot = plotW / Math.max(1, ws.length);
  const bw = Math.min(16, slot / 3);
  const colors = { gpu: '#1f77b4', cpu: '#ff7f0e' };
  ws.forEach((w, i) => {
    const x0 = left + i * slot + slot / 2;
    for (const [j, key] of (['gpu', 'cpu'] as const).entries()) {
      const s = w[key]?.itPerSecond as Spread | undefined;
      if (!s || !(s.median > 0)) continue;
      const x = x0 + (j - 1) * bw;
      out.push(`<rect x="${x}" y="${y(s.median)}" width="${bw}" height="${top + H1 - y(s.median)}" fill="${colors[key]}"><title>${esc(`${w.name} ${key}: ${s.median.toPrecision(3)} it/s`)}</title></rect>`);
      if (s.n > 1 && s.min > 0) out.push(`<line x1="${x + bw / 2}" x2="${x + bw / 2}" y1="${y(s.min)}" y2="${y(s.max)}" stroke="black"/>`);
    }
    out.push(`<text transform="translate(${x0},${top + H1 + 8}) rotate(40)" font-size="10">${esc(w.name)}</text>`);
  });
  out.push(`<rect x="${left + plotW - 150}" y="${top + 4}" width="10" height="10" fill="${colors.gpu}"/><text x="${left + plotW - 136}" y="${top + 13}">WebGPU (median, min–max)</text>`);
  out.push(`<rect x="${left + plotW - 150}" y="${top + 20}" width="10" height="10" fill="${colors.cpu}"/><text x="${left + plotW - 136}" y="${top + 29}">CPU float64 reference</text>`);
  // panel 2: roofline fraction or effective GB/s
  const t2 = top + H1 + 110;
  const peak = r.options.peakGbps;
  const v2 = ws.map((w) => (peak ? (w.gpu?.rooflineFraction as number | null) : (w.gpu?.effectiveGBps as number | null)) ?? null);
  const max2 = peak ? Math.max(1, ...v2.filter((v): v is number => v !== null)) : Math.max(1e-9, ...v2.filter((v): v is number => v !== null)) * 1.1;
  out.push(`<text x="${left}" y="${t2 - 6}">${peak ? `roofline fraction: effective bandwidth / nominal ${peak} GB/s` : 'effective bandwidth GB/s (modelled bytes × it/s; pass --peak-gbps for the roofline fraction)'}</text>`);
  const y2 = (v: number) => t2 + H2 - (v / max2) * H2;
  for (let g = 0; g <= 4; g++) {
    const v = (max2 * g) / 4;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y2(v)}" y2="${y2(v)}" stroke="#ddd"/><text x="${left - 4}" y="${y2(v) + 4}" text-anchor="end">${v.toPrecision(2)}</text>`);
  }
  ws.forEach((w, i) => {
    const v = v2[i];
    const x0 = left + i * slot + slot / 2;
    if (v !== null && v > 0) out.push(`<rect x="${x0 - bw / 2}" y="${y2(v)}" width="${bw}" height="${t2 + H2 - y2(v)}" fill="#2ca02c"><title>${esc(`${w.name}: ${v.toPrecision(3)}`)}</title></rect>`);
    out.push(`<text transform="translate(${x0},${t2 + H2 + 8}) rotate(40)" font-size="10">${esc(w.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
