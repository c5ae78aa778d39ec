/** The mode selector and the parameter form, generated from the tables in state.ts. */
import { FIELDS, MODES, type FieldSpec, type Mode, type Params } from '../state.js';

export interface FormHandle {
  read(): Params;
  write(p: Params): void;
  setMode(m: Mode): void;
  mode(): Mode;
}

export function buildForm(
  modesBox: HTMLElement,
  form: HTMLFormElement,
  initial: { mode: Mode; params: Params },
  availability: (m: Mode) => string | null,
  onModeChange: (m: Mode) => void,
): FormHandle {
  let mode = initial.mode;
  for (const m of MODES) {
    const why = availability(m.id);
    const label = document.createElement('label');
    label.title = m.help;
    if (why) label.className = 'unavailable';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'mode';
    input.value = m.id;
    input.dataset.testid = `mode-${m.id}`;
    input.checked = m.id === mode;
    input.addEventListener('change', () => {
      mode = m.id;
      sync();
      onModeChange(m.id);
    });
    const help = document.createElement('span');
    help.className = 'help';
    help.textContent = ` ${why ? `not available in this build: ${why}` : m.help}`;
    label.append(input, ` ${m.label}`, help);
    modesBox.append(label);
  }
  const inputs = new Map<keyof Params, { field: FieldSpec; el: HTMLInputElement | HTMLSelectElement; row: HTMLElement }>();
  for (const f of FIELDS) {
    const row = document.createElement('div');
    row.className = 'field';
    const id = `param-${f.key}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = f.label;
    let el: HTMLInputElement | HTMLSelectElement;
    if (f.kind === 'select') {
      el = document.createElement('select');
      for (const o of f.options!) el.append(new Option(o, o));
    } else {
      el = document.createElement('input');
      el.type = f.kind === 'bool' ? 'checkbox' : f.kind === 'text' ? 'text' : 'text';
      if (f.kind === 'int' || f.kind === 'number') el.inputMode = 'decimal';
    }
    el.id = id;
    el.name = f.key;
    el.dataset.testid = id;
    const help = document.createElement('span');
    help.className = 'help';
    help.textContent = f.help;
    row.append(label, el, help);
    form.append(row);
    inputs.set(f.key, { field: f, el, row });
  }
  const sync = () => {
    for (const { field, row } of inputs.values()) row.hidden = !field.modes.includes(mode);
  };
  const handle: FormHandle = {
    read() {
      const p = {} as Record<string, unknown>;
      for (const [key, { field, el }] of inputs) {
        if (field.kind === 'bool') p[key] = (el as HTMLInputElement).checked;
        else if (field.kind === 'int' || field.kind === 'number') p[key] = el.value.trim() === '' ? NaN : Number(el.value);
        else p[key] = el.value;
      }
      return p as unknown as Params;
    },
    write(p) {
      for (const [key, { field, el }] of inputs) {
        const v = p[key];
        if (field.kind === 'bool') (el as HTMLInputElement).checked = Boolean(v);
        else el.value = String(v);
      }
    },
    setMode(m) {
      mode = m;
      for (const r of modesBox.querySelectorAll<HTMLInputElement>('input[name=mode]')) r.checked = r.value === m;
      sync();
      onModeChange(m);
    },
    mode: () => mode,
  };
  handle.write(initial.params);
  sync();
  return handle;
}
