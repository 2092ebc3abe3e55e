/**
 * The page contract: a page is one file in pages/ exporting `page: StudioPage`. The bundler
 * (src/studio/build.ts) finds every such file, so a model kind adds its page without touching
 * another file, and `needs` ties it to the registry: it shows when a model with that capability is
 * loaded. Pages talk only to the server's routes (src/serve/routes/).
 *
 *   export const page: StudioPage = { id: 'points', title: 'Point-E', order: 70, needs: 'generate-shape',
 *     render(root, info) { … } };
 */

/** What GET /api/studio answers (src/serve/routes/studio.ts's StudioInfo). */
export interface StudioInfo {
  kinds: Array<{ name: string; kind: string; summary: string; capabilities: string[] }>;
  models: Array<{ id: string; kind: string; capabilities: string[]; provider: string; dir: string; role: string }>;
  runsDir: string | undefined;
  audioDir: string | undefined;
}

export interface StudioPage {
  /** The hash that opens it: #/<id>. */
  id: string;
  title: string;
  /** Place in the menu, low first. */
  order: number;
  /**
   * A capability a loaded model must have for the page to show (the registry's names: 'complete',
   * 'vocode', 'generate-shape' …); a model kind's page sets it, a page about files leaves it out.
   */
  needs?: string;
  /** Draw into `root`; a returned function runs when the user leaves (close streams, stop loops). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a page with nothing to clean up returns nothing
  render(root: HTMLElement, info: StudioInfo): void | (() => void) | Promise<void | (() => void)>;
}

/** Build an element: `el('button', { class: 'primary', onclick }, 'Go')`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, unknown> = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** GET or POST JSON; a server error becomes an Error carrying the server's message. */
export async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(
    path,
    body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
  );
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      msg = ((await res.json()) as { error: { message: string } }).error.message;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new Error(msg);
  }
  return (await res.json()) as T;
}

/** A status line under an action: what is happening, or what went wrong. */
export function status(): { node: HTMLElement; set(text: string, error?: boolean): void } {
  const node = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  return {
    node,
    set(text, error = false) {
      node.textContent = text;
      node.classList.toggle('error', error);
    },
  };
}

/** A labelled form control: the label names it for screen readers and tests alike. */
/**
 * A runner for a page's actions: while one runs, `buttons` are disabled and the status line says
 * `what`; an error ends up in the status line instead of the console.
 */
export function busyRunner(
  st: ReturnType<typeof status>,
  buttons: readonly (HTMLButtonElement | HTMLInputElement)[],
): (what: string, work: () => Promise<void>) => Promise<void> {
  return async (what, work) => {
    for (const b of buttons) b.disabled = true;
    st.set(what);
    try {
      await work();
    } catch (err) {
      st.set((err as Error).message, true);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
}

export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  control.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label, hint ? el('span', { class: 'hint' }, ` — ${hint}`) : null), control);
}

/** A number to `digits` significant digits; very large or small ones in exponent form (1.23e+9). */
export const fmt = (x: number, digits = 4): string => {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e6 || a < 1e-4) ? x.toExponential(digits - 1) : Number(x.toPrecision(digits)).toString();
};
