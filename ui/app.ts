import type { FileProgress, FromWorker, ToWorker, Totals } from './protocol.js';

/**
 * The page at /ui (DESIGN §10): takes files and folders (drop, file input, folder picker),
 * hands them to the worker that hashes and uploads them, and shows what happens. Its worker's
 * source is built into this script (ui/build.ts), so the page is one document.
 */

declare const UI_WORKER_SOURCE: string;
/** Compiled in by ui/build.ts: whether this is the benchmark's build of the page. */
declare const UI_BENCH: boolean;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const UNFINISHED = 'blobserver-ui-unfinished';
/** The server's base URL: where /ui is served from (any stage prefix included). */
const server = location.origin + location.pathname.replace(/\/ui\/?$/, '');

const worker = new Worker(URL.createObjectURL(new Blob([UI_WORKER_SOURCE], { type: 'text/javascript' })), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
let auth: string | undefined;
send({ type: 'config', server });

const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);

function showError(message: string | undefined) {
  $('error').hidden = !message;
  $('error').textContent = message ?? '';
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** A blobref with a copy button. */
function refCell(ref: string): HTMLElement {
  const copy = el('button', { type: 'button', textContent: 'Copy', title: 'copy the ref' });
  copy.addEventListener('click', async () => {
    await navigator.clipboard?.writeText(ref).catch(() => undefined);
    copy.textContent = 'Copied';
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });
  const get = el('button', { type: 'button', textContent: 'Download' });
  get.addEventListener('click', () => download(ref));
  return el('td', {}, el('span', { className: 'ref', textContent: ref }), ' ', copy, ' ', get);
}

// ---- picking files -------------------------------------------------------------------

interface Picked {
  files: { path: string; file: File }[];
  dirs: string[];
}

/** A directory's entries: readEntries answers in batches until an empty one. */
async function readEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, out: Picked) {
  const path = entry.fullPath.replace(/^\/+/, '');
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    out.files.push({ path, file });
  } else if (entry.isDirectory) {
    out.dirs.push(path);
    for (const child of await readEntries(entry as FileSystemDirectoryEntry)) await walk(child, out);
  }
}

async function fromDrop(data: DataTransfer): Promise<Picked> {
  const picked: Picked = { files: [], dirs: [] };
  const entries = [...data.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry() : null));
  if (entries.length && entries.every((e) => e)) {
    for (const e of entries) await walk(e!, picked);
  } else {
    for (const file of data.files) picked.files.push({ path: file.name, file });
  }
  return picked;
}

const fromInput = (input: HTMLInputElement): Picked => ({
  files: [...(input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file })),
  dirs: [],
});

// ---- uploading -----------------------------------------------------------------------

let job = 0;
let busy = false;
const rows = new Map<string, HTMLTableRowElement>();

function start(picked: Picked) {
  if (busy) return showError('An upload is still running; wait for it to finish.');
  if (!picked.files.length && !picked.dirs.length) return;
  // The name as the file itself gives it: a path may already show its backslash as a "/".
  const slashed = picked.files.find((f) => f.file.name.includes('\\'));
  if (slashed) return showError(`Cannot store "${slashed.file.name}": a name holding a backslash cannot be restored. Rename it and pick it again.`);
  showError(undefined);
  busy = true;
  job++;
  const bytes = picked.files.reduce((n, f) => n + f.file.size, 0);
  sessionStorage.setItem(UNFINISHED, JSON.stringify({ files: picked.files.length, bytes, first: picked.files[0]?.path ?? picked.dirs[0] }));
  $('upload').hidden = false;
  $('state').dataset['state'] = 'running';
  $('state').textContent = 'hashing and uploading…';
  const tbody = $('file-rows');
  tbody.replaceChildren();
  rows.clear();
  // The first 500 files get a row each; beyond that the totals say enough.
  for (const f of picked.files.slice(0, 500)) {
    const row = el(
      'tr',
      {},
      el('td', { textContent: f.path }),
      el('td', {}, el('progress', { max: Math.max(1, f.file.size), value: 0 })),
      el('td', {}, el('progress', { max: Math.max(1, f.file.size), value: 0 })),
      el('td', { className: 'num', textContent: mb(f.file.size) }),
    );
    tbody.append(row);
    rows.set(f.path.split('/').filter(Boolean).join('/'), row);
  }
  send({ type: 'put', job, files: picked.files, dirs: picked.dirs });
}

function showProgress(files: FileProgress[], totals: Totals) {
  for (const f of files) {
    const row = rows.get(f.path);
    if (!row) continue;
    const [hashed, stored] = row.querySelectorAll('progress');
    if (!hashed || !stored) continue;
    hashed.value = f.hashed;
    stored.value = f.done ? stored.max : f.stored;
    row.dataset['done'] = String(f.done);
  }
  ($('p-hashed') as HTMLProgressElement).max = Math.max(1, totals.bytes);
  ($('p-hashed') as HTMLProgressElement).value = totals.hashed;
  ($('p-stored') as HTMLProgressElement).max = Math.max(1, totals.bytes);
  ($('p-stored') as HTMLProgressElement).value = totals.stored;
  $('t-hashed').textContent = `${mb(totals.hashed)} of ${mb(totals.bytes)}`;
  $('t-sent').textContent = `${mb(totals.sent)} (${totals.uploadedBlobs} blobs; ${totals.skippedBlobs} already there)`;
  $('t-stored').textContent = mb(totals.stored);
  Object.assign($('totals').dataset, {
    hashed: totals.hashed,
    sent: totals.sent,
    stored: totals.stored,
    uploaded: totals.uploadedBlobs,
    skipped: totals.skippedBlobs,
  });
}

function addResult(name: string, ref: string, kind: string) {
  const results = $('results');
  results.querySelector('.empty')?.remove();
  const row = el('tr', {}, el('td', { textContent: kind === 'directory' ? `${name}/` : name }), refCell(ref));
  row.dataset['ref'] = ref;
  row.dataset['name'] = name;
  results.prepend(row);
}

// ---- downloads, listing, sign-in ------------------------------------------------------

function download(ref: string) {
  showError(undefined);
  $('saved').hidden = true;
  send({ type: 'download', ref: ref.trim() });
}

/** The File System Access API's save picker (Chromium browsers; not in TypeScript's DOM library). */
type SavePicker = (options: { suggestedName: string }) => Promise<FileSystemFileHandle>;

/**
 * Where download `id` goes. With a save picker, into the file the user picks, streamed by the
 * worker (ui/save-file.ts); dismissed, nowhere. Without one (Firefox, Safari), or when the
 * browser refuses it (the click's user activation, a few seconds, ran out while the worker read
 * the file's schema), as Blob parts the browser downloads.
 */
async function saveAs(id: number, name: string) {
  const picker = (window as unknown as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  if (!picker) return send({ type: 'save', id });
  try {
    send({ type: 'save', id, to: await picker.call(window, { suggestedName: name }) });
  } catch (err) {
    send((err as DOMException)?.name === 'AbortError' ? { type: 'save', id, cancel: true } : { type: 'save', id });
  }
}

/** Whether the credential may list and download here (GET /camli/credential); until it is known, nothing is listed. */
let canRead = false;
let listedAfter: string | undefined;
/** The first page replaces the list when it arrives (so the list never blinks empty); later pages add to it. */
let replaceList = false;
function list(after?: string) {
  replaceList = !after;
  send({ type: 'list', after, limit: 25 });
}

const benchWaiters: ((r: FromWorker & { type: 'benched' }) => void)[] = [];

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      $('hash-impl').textContent = `Hashing: ${m.hash}, in a Web Worker.`;
      document.body.dataset['ready'] = 'true';
      send({ type: 'scope' });
      return;
    case 'scoped': {
      // An upload-only credential (a phone's) uploads, and is shown no listing it may not read.
      canRead = !m.operations || m.operations.includes('read');
      const canWrite = !m.operations || m.operations.includes('write');
      $('reading').hidden = !canRead;
      $('drop').hidden = !canWrite;
      const note =
        !canRead && canWrite
          ? 'This credential may upload only: the server’s blobs are not listed.'
          : !canWrite && canRead
            ? 'This credential may read only: uploads are off.'
            : !canRead
              ? 'This credential may neither read nor upload here.'
              : '';
      $('scope-note').textContent = note;
      $('scope-note').hidden = !note;
      document.body.dataset['operations'] = (m.operations ?? ['read', 'write']).join(' ');
      if (canRead) list();
      return;
    }
    case 'progress':
      if (m.job === job) showProgress(m.files, m.totals);
      return;
    case 'done':
      if (m.job !== job) return;
      showProgress(m.files, m.totals);
      busy = false;
      sessionStorage.removeItem(UNFINISHED);
      $('notice').hidden = true;
      $('state').dataset['state'] = 'done';
      $('state').textContent = `done: ${m.totals.uploadedBlobs} blobs sent, ${m.totals.skippedBlobs} already stored`;
      for (const r of m.refs) addResult(r.name, r.ref, r.kind);
      if (canRead) list();
      return;
    case 'failed':
      if (m.job !== undefined) {
        if (m.job !== job) return;
        if (m.files && m.totals) showProgress(m.files, m.totals);
        busy = false;
        $('state').dataset['state'] = 'failed';
        $('state').textContent = 'stopped';
      }
      showError(m.message);
      return;
    case 'save-as':
      void saveAs(m.id, m.name);
      return;
    case 'saved':
      $('saved').hidden = false;
      $('saved').textContent = `Saved ${m.name} (${mb(m.bytes)}).`;
      return;
    case 'downloaded': {
      const a = el('a', { href: URL.createObjectURL(m.blob), download: m.name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      return;
    }
    case 'listed':
      if (replaceList) $('blobs').replaceChildren();
      replaceList = false;
      for (const b of m.blobs) {
        const row = el('tr', {}, refCell(b.blobRef), el('td', { className: 'num', textContent: mb(b.size) }));
        row.dataset['ref'] = b.blobRef;
        $('blobs').append(row);
      }
      listedAfter = m.continueAfter;
      $('more').hidden = !listedAfter;
      return;
    case 'checked':
      $('who').textContent = m.ok ? `signed in as ${auth ? auth.split(':')[1] : 'the browser’s user'}` : '';
      showError(m.ok ? undefined : m.message);
      if (m.ok) send({ type: 'scope' });
      return;
    case 'keyed':
      $('key-state').textContent = m.message;
      $('key-state').dataset['encrypted'] = String(m.encrypted);
      $('key-state').dataset['state'] = m.ok ? 'ok' : 'refused';
      showError(m.ok ? undefined : m.message);
      if (canRead) list();
      return;
    case 'benched':
      if (UI_BENCH) benchWaiters.shift()?.(m);
      return;
  }
};
worker.onerror = (e) => showError(`The page's worker failed: ${e.message}`);

// ---- wiring ----------------------------------------------------------------------------

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer) start(await fromDrop(e.dataTransfer));
});
for (const id of ['files', 'folder']) {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    start(fromInput(input));
    input.value = '';
  });
}
$('get-form').addEventListener('submit', (e) => {
  e.preventDefault();
  download($<HTMLInputElement>('get-ref').value);
});
$('refresh').addEventListener('click', () => list());
$('more').addEventListener('click', () => list(listedAfter));
$('sign-in').addEventListener('submit', (e) => {
  e.preventDefault();
  const user = $<HTMLInputElement>('user').value;
  const password = $<HTMLInputElement>('password').value;
  auth = user ? `userpass:${user}:${password}` : undefined;
  $<HTMLInputElement>('password').value = '';
  send({ type: 'config', server, auth });
  send({ type: 'check' });
});

/** The key goes to the worker and leaves the page's fields at once: it is kept nowhere else. */
function useKey(key: string | undefined) {
  if (busy) return showError('An upload is still running; wait for it to finish.');
  $<HTMLInputElement>('key').value = '';
  $('key-state').textContent = key ? 'reading the encrypted index…' : '';
  send({ type: 'key', key, blobsNamespace: $<HTMLInputElement>('enc-ns').value.trim(), metaNamespace: $<HTMLInputElement>('meta-ns').value.trim() });
}
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  useKey($<HTMLInputElement>('key').value.trim() || undefined);
});
$('key-file').addEventListener('change', async () => {
  const input = $<HTMLInputElement>('key-file');
  const file = input.files?.[0];
  input.value = '';
  if (file) useKey(await file.text());
});
$('forget-key').addEventListener('click', () => useKey(undefined));

const unfinished = sessionStorage.getItem(UNFINISHED);
if (unfinished) {
  const u = JSON.parse(unfinished) as { files: number; bytes: number; first?: string };
  $('notice').hidden = false;
  $('notice').textContent =
    `An upload of ${u.files} files (${mb(u.bytes)}, starting with ${u.first}) did not finish. Choose or drop the same files again to resume: ` +
    'blobs the server already has are not sent again.';
}

/** For the benchmark's build only (ui/build.ts): SHA-224 and chunking speed in this page's worker. */
if (UI_BENCH) {
  (window as unknown as { blobserverUi: unknown }).blobserverUi = {
    bench: (mbytes: number) =>
      new Promise((resolve) => {
        benchWaiters.push(resolve);
        send({ type: 'bench', mb: mbytes });
      }),
  };
}
