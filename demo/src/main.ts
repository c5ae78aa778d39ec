/**
 * The webnmf browser app: wiring between the page, the parameter form and the solver worker.
 * Everything heavy (reading files, fitting) happens in worker.ts; this module renders.
 */
import type { DatasetInfo, FromWorker, LoadSpec, ResultData, ToWorker } from './protocol.js';
import { checkParams, DEFAULT_DISPLAY, DEFAULT_PARAMS, makePreset, parsePreset, type DisplayState, type Mode } from './state.js';
import { download, mapsNpy, mapsPngZip, mapsTiff, reportText, spectraCsv, spectraNpy } from './export.js';
import { MAX_FILE_BYTES, sizeLimitMessage } from './limits.js';
import { buildForm } from './views/form.js';
import { fmt, seconds } from './views/format.js';
import { lossSvg, renderOverview, renderResult } from './views/results.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// Library parts that some builds lack (the worker loads them; here we only ask whether they exist).
const HAS_AUTO = Object.keys(import.meta.glob('../../src/auto/index.ts')).length > 0;
const HAS_MODES = Object.keys(import.meta.glob('../../src/modes/index.ts')).length > 0;

// ------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------

interface Loaded {
  info: DatasetInfo;
  loadMs: number;
}

const app = {
  loaded: undefined as Loaded | undefined,
  lastSpec: undefined as LoadSpec | undefined,
  auxFiles: {} as { G?: File; seeds?: File },
  result: undefined as ResultData | undefined,
  display: { ...DEFAULT_DISPLAY } as DisplayState,
  runId: 0,
  running: undefined as { id: number; t0: number; losses: { iteration: number; full: number }[]; cancelTimer?: number } | undefined,
  loadT0: 0,
};

// ------------------------------------------------------------------------------------------
// Notices
// ------------------------------------------------------------------------------------------

function notice(kind: 'error' | 'warn' | 'info', text: string, id?: string): void {
  if (id) document.querySelector(`#notices [data-id="${id}"]`)?.remove();
  const div = document.createElement('div');
  div.className = kind;
  div.dataset.testid = `notice-${kind}`;
  if (id) div.dataset.id = id;
  div.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const span = document.createElement('span');
  span.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.title = 'dismiss';
  close.addEventListener('click', () => div.remove());
  div.append(span, close);
  $('notices').append(div);
}
const clearNotices = (kind?: string) => document.querySelectorAll(`#notices > div${kind ? `.${kind}` : ''}:not([data-id])`).forEach((d) => d.remove());

// ------------------------------------------------------------------------------------------
// Worker
// ------------------------------------------------------------------------------------------

let worker: Worker;
function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webnmf-solver' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  worker.onerror = (e) => notice('error', `the solver worker failed: ${e.message}`);
  send({ type: 'probe' });
}
const send = (m: ToWorker) => worker.postMessage(m);

function onWorker(m: FromWorker): void {
  switch (m.type) {
    case 'backend': {
      const badge = $('backend-badge');
      if (m.ok) {
        badge.textContent = `WebGPU · ${m.info ?? 'adapter'}`;
        badge.className = 'badge gpu';
      } else {
        badge.textContent = 'CPU (no WebGPU)';
        badge.className = 'badge cpu';
        notice('warn', `WebGPU is not available here (${m.reason ?? 'no adapter'}). Fits run on the float64 CPU reference in a background worker: the same results, but slower.`, 'no-webgpu');
      }
      break;
    }
    case 'loaded':
      onLoaded(m);
      break;
    case 'aux-loaded': {
      const a = m.aux;
      $(a.kind === 'G' ? 'g-info' : 'seed-info').textContent = `${a.name}: ${a.rows} channels × ${a.cols} ${a.kind === 'G' ? 'lines' : 'spectra'}${a.note ? ` (${a.note})` : ''}`;
      break;
    }
    case 'progress':
      if (app.running?.id === m.id) onProgress(m);
      break;
    case 'stage':
      if (app.running?.id === m.id) $('progress-text').textContent = `${m.message} · ${seconds((performance.now() - app.running.t0) / 1000)}`;
      break;
    case 'result':
      if (app.running?.id === m.result.id) {
        finishRun();
        showResult(m.result);
      }
      break;
    case 'cancelled':
      if (app.running?.id === m.id) {
        finishRun();
        notice('info', 'The fit was cancelled; the previous results (if any) are kept.');
      }
      break;
    case 'error':
      if (m.context === 'run') {
        if (app.running?.id !== m.id) return;
        finishRun();
        notice('error', `The fit failed: ${m.message}`);
      } else if (m.context === 'load') {
        setLoading(false);
        notice('error', `Could not read the data: ${m.message}`);
      } else if (m.context === 'aux') {
        notice('error', `Could not read the spectra: ${m.message}`);
      } else {
        notice('warn', `WebGPU check failed: ${m.message}`);
      }
      break;
  }
}

// ------------------------------------------------------------------------------------------
// Loading
// ------------------------------------------------------------------------------------------

function setLoading(on: boolean): void {
  $('drop').classList.toggle('busy', on);
  $<HTMLButtonElement>('example-button').disabled = on;
  const info = app.loaded?.info;
  $('data-info').textContent = on ? 'reading…' : info ? `${info.source}: ${info.rows} × ${info.cols} pixels × ${info.channels} channels` : '';
}

function parseShape(text: string): { rows: number; cols: number } | undefined {
  const m = /^\s*(\d+)\s*[x×*,\s]\s*(\d+)\s*$/.exec(text);
  return m ? { rows: Number(m[1]), cols: Number(m[2]) } : undefined;
}

function load(spec: LoadSpec): void {
  clearNotices('error');
  if (spec.kind === 'files') {
    const big = spec.files.find((f) => f.size > MAX_FILE_BYTES);
    if (big) {
      notice('error', sizeLimitMessage(big.name, big.size));
      return;
    }
    const shapeText = $<HTMLInputElement>('shape-input').value;
    const shape = parseShape(shapeText);
    if (shapeText.trim() && !shape) {
      notice('error', `image shape '${shapeText}' is not rows × cols (e.g. 64 × 128)`);
      return;
    }
    if (shape) spec = { ...spec, shape };
  }
  app.lastSpec = spec;
  app.loadT0 = performance.now();
  setLoading(true);
  send({ type: 'load', spec });
}

function onLoaded(m: Extract<FromWorker, { type: 'loaded' }>): void {
  const info = m.info;
  app.result = undefined;
  $('result-body').replaceChildren();
  const overview = $('overview');
  const sliceRow = $('slice-row');
  sliceRow.hidden = !info.slices || info.slices < 2;
  if (!sliceRow.hidden) {
    const sel = $<HTMLSelectElement>('slice-select');
    sel.replaceChildren(...Array.from({ length: info.slices! }, (_, i) => new Option(String(i), String(i), false, i === info.slice)));
  }
  // Render, then measure on the next frame: "shown" is the time from the drop to pixels on screen.
  const draw = (timing: string) => overview.replaceChildren(renderOverview(info, m.sumImage, m.meanSpectrum, timing, m.warnings));
  draw(`read ${seconds(m.ms.read / 1000)} · prepared ${seconds(m.ms.prepare / 1000)}`);
  requestAnimationFrame(() => {
    const shown = performance.now() - app.loadT0;
    app.loaded = { info, loadMs: shown };
    const cell = overview.querySelector('[data-testid=info-timing]');
    if (cell) cell.textContent = `${seconds(shown / 1000)} after the drop (read ${seconds(m.ms.read / 1000)}, prepared ${seconds(m.ms.prepare / 1000)})`;
    overview.dataset.shownMs = String(Math.round(shown));
  });
  app.loaded = { info, loadMs: performance.now() - app.loadT0 };
  setLoading(false);
  overview.dataset.loads = String(Number(overview.dataset.loads ?? 0) + 1);
  $<HTMLButtonElement>('run-button').disabled = false;
  $('result-body').append(hint('Choose a mode and press Run.'));
  // G from the example: offer it.
  if (info.isExample) $('g-info').textContent = 'the example carries its own G (15 Gaussian X-ray lines): tick "use known spectra G" to use it.';
  else if (!app.auxFiles.G) $('g-info').textContent = 'channels × lines (.npy or CSV): spectra are combinations of these columns.';
  for (const kind of m.auxDropped) {
    $(kind === 'G' ? 'g-info' : 'seed-info').textContent = `${app.auxFiles[kind]?.name ?? 'the spectra'} did not match these ${info.channels} channels and was unloaded; load matching spectra.`;
    delete app.auxFiles[kind];
  }
}

const hint = (text: string) => Object.assign(document.createElement('p'), { className: 'hint', textContent: text });

// ------------------------------------------------------------------------------------------
// Running
// ------------------------------------------------------------------------------------------

const available = (m: Mode): string | null => {
  if (m === 'auto' && !HAS_AUTO) return 'the library has no src/auto (autoFit).';
  if ((m === 'pca' || m === 'nnls' || m === 'seeded') && !HAS_MODES) return 'the library has no src/modes yet.';
  return null;
};

const form = buildForm($('modes'), $<HTMLFormElement>('params'), { mode: 'smooth', params: { ...DEFAULT_PARAMS } }, available, () => {});

function run(): void {
  if (!app.loaded || app.running) return;
  const params = form.read();
  const problems = checkParams(params);
  if (problems.length) {
    notice('error', `Fix the parameters first: ${problems.join('; ')}`);
    return;
  }
  const mode = form.mode();
  const why = available(mode);
  clearNotices('error');
  const id = ++app.runId;
  app.running = { id, t0: performance.now(), losses: [] };
  $<HTMLButtonElement>('run-button').disabled = true;
  $<HTMLButtonElement>('cancel-button').disabled = false;
  $('progress').hidden = false;
  $('progress-bar').style.width = '0';
  $('progress-text').textContent = why ? '' : 'starting…';
  $('loss-live').replaceChildren();
  send({ type: 'run', id, mode, params });
}

function onProgress(m: Extract<FromWorker, { type: 'progress' }>): void {
  const r = app.running!;
  const elapsed = (performance.now() - r.t0) / 1000;
  $('progress-bar').style.width = `${Math.min(100, (100 * m.iteration) / m.maxIter)}%`;
  $('progress-text').textContent = `iteration ${m.iteration} / ${m.maxIter} · ${fmt(m.rate, 3)} it/s · ${seconds(elapsed)}${Number.isFinite(m.loss) ? ` · loss ${fmt(m.loss)}` : ''}`;
  if (!Number.isFinite(m.loss)) return;
  if (m.iteration < (r.losses.at(-1)?.iteration ?? -1)) r.losses = []; // a new stage (auto) restarts the count
  r.losses.push({ iteration: m.iteration, full: m.loss });
  if (r.losses.length > 1) $('loss-live').innerHTML = lossSvg(r.losses, 'loss so far');
}

function finishRun(): void {
  if (app.running?.cancelTimer) clearTimeout(app.running.cancelTimer);
  app.running = undefined;
  $<HTMLButtonElement>('run-button').disabled = !app.loaded;
  $<HTMLButtonElement>('cancel-button').disabled = true;
}

/** Cancel: the solver stops at its next loss sample; if it does not answer within 3 s, the worker is restarted. */
function cancel(): void {
  const r = app.running;
  if (!r) return;
  send({ type: 'cancel', id: r.id });
  $('progress-text').textContent += ' · cancelling…';
  r.cancelTimer = window.setTimeout(() => {
    if (app.running?.id !== r.id) return;
    worker.terminate();
    finishRun();
    notice('warn', 'The solver did not stop within 3 s, so it was restarted; the data are being read again.');
    startWorker();
    if (app.lastSpec) load(app.lastSpec);
    for (const kind of ['G', 'seeds'] as const) {
      const file = app.auxFiles[kind];
      if (file) send({ type: 'aux', kind, file });
    }
  }, 3000);
}

function showResult(r: ResultData): void {
  app.result = r;
  const info = app.loaded!.info;
  $('progress-bar').style.width = '100%';
  $('progress-text').textContent = `done: ${r.nIter} iterations in ${seconds(r.seconds.wall)} (${r.stopReason}) on ${r.backend}`;
  const base = info.source.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_').slice(0, 40) || 'webnmf';
  const preset = () => makePreset(form.mode(), form.read(), app.display, { source: info.source, rows: info.rows, cols: info.cols, channels: info.channels });
  const view = renderResult(r, info, app.display, {
    onComposite: (idx) => (app.display.composite = idx),
    exports: [
      { label: 'maps .npy', testid: 'export-maps-npy', run: () => download(mapsNpy(r, info), `${base}_maps.npy`) },
      { label: 'spectra .npy', testid: 'export-spectra-npy', run: () => download(spectraNpy(r), `${base}_spectra.npy`) },
      { label: 'maps TIFF stack', testid: 'export-maps-tiff', run: () => download(mapsTiff(r, info), `${base}_maps.tif`, 'image/tiff') },
      { label: 'maps PNG (zip)', testid: 'export-maps-png', run: async () => download(await mapsPngZip(r, info, app.display.clipPercentile), `${base}_maps_png.zip`, 'application/zip') },
      { label: 'spectra CSV', testid: 'export-spectra-csv', run: () => download(spectraCsv(r, info), `${base}_spectra.csv`, 'text/csv') },
      { label: 'preset JSON', testid: 'export-preset', run: () => download(JSON.stringify(preset(), null, 2), `${base}_preset.json`, 'application/json') },
      { label: 'report', testid: 'export-report', run: () => download(reportText(r, info, preset(), app.loaded?.loadMs), `${base}_report.txt`, 'text/plain') },
    ],
  });
  $('result-body').replaceChildren(view);
}

// ------------------------------------------------------------------------------------------
// Events
// ------------------------------------------------------------------------------------------

const drop = $('drop');
for (const t of ['dragenter', 'dragover'] as const) {
  document.addEventListener(t, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
document.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) drop.classList.remove('over');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length) load({ kind: 'files', files });
});
$<HTMLInputElement>('file-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length) load({ kind: 'files', files });
});
$('example-button').addEventListener('click', () => load({ kind: 'example', seed: form.read().seed || 0 }));
$<HTMLSelectElement>('slice-select').addEventListener('change', (e) => {
  const slice = Number((e.target as HTMLSelectElement).value);
  if (app.lastSpec?.kind === 'files') load({ ...app.lastSpec, slice });
});
for (const kind of ['G', 'seeds'] as const) {
  $<HTMLInputElement>(kind === 'G' ? 'g-input' : 'seed-input').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    app.auxFiles[kind] = file;
    send({ type: 'aux', kind, file });
  });
}
$('run-button').addEventListener('click', run);
$('cancel-button').addEventListener('click', cancel);
$('save-preset').addEventListener('click', () => {
  const info = app.loaded?.info;
  const p = makePreset(form.mode(), form.read(), app.display, info ? { source: info.source, rows: info.rows, cols: info.cols, channels: info.channels } : undefined);
  download(JSON.stringify(p, null, 2), 'webnmf-preset.json', 'application/json');
});
$<HTMLInputElement>('load-preset').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  try {
    const p = parsePreset(await file.text());
    form.write(p.params);
    form.setMode(p.mode);
    app.display = p.display;
    notice('info', `Preset ${file.name} loaded (${p.mode}${p.dataset ? `, made with ${p.dataset.source}` : ''}).`);
  } catch (err) {
    notice('error', `Could not load the preset: ${(err as Error).message}`);
  }
});
window.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && app.running) cancel();
});

startWorker();
