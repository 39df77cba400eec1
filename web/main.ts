/**
 * The page: files picked or dropped go to the worker (the `File` handle, not its bytes),
 * their reports come back as cards; the Glance upload is asked of the worker too. Nothing
 * here reads a file or talks to a server.
 *
 * @module
 */
import { failureCard, layerWords, pendingCard, reportCard } from './card.js';
import { defaultImageName, openstackImageCreate } from './command.js';
import type { ImageReport, PageMessage, WorkerMessage } from './protocol.js';

const byId = <Element extends HTMLElement>(id: string) => document.getElementById(id) as Element;
const input = byId<HTMLInputElement>('files');
const cards = byId<HTMLElement>('cards');
const announcer = byId<HTMLElement>('announcer');
const glanceSettings = byId<HTMLDetailsElement>('glance-settings');
const endpointInput = byId<HTMLInputElement>('glance-endpoint');
const tokenInput = byId<HTMLInputElement>('glance-token');
const clearButton = byId<HTMLButtonElement>('clear');
// The settings are a form for password managers and Enter; nothing is ever submitted (form-action 'none').
byId<HTMLFormElement>('glance-form').addEventListener('submit', (event) => event.preventDefault());
const docsBase = document.querySelector<HTMLMetaElement>('meta[name="docs-base"]')?.content ?? 'docs/';
byId('origin').textContent = location.origin;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'image-introspect' });
const send = (message: PageMessage) => worker.postMessage(message);

/** The reports shown, by card id (the command line is rebuilt when the image name changes). */
const reports = new Map<number, ImageReport>();
/** Cards still being read, and what finished in this batch (announced together). */
const pending = new Set<number>();
let finished: string[] = [];
let nextId = 1;

/** Says `text` through the live region (polite: after what the reader is saying). */
function announce(text: string): void {
  // A change of text is what screen readers announce: clear first so that a repeat is heard.
  announcer.textContent = '';
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function cardElement(id: number): HTMLElement | null {
  return cards.querySelector<HTMLElement>(`[data-card="${id}"]`);
}

function check(files: Iterable<File>): void {
  const list = [...files];
  if (list.length === 0) return;
  for (const file of list) {
    const id = nextId;
    nextId += 1;
    pending.add(id);
    cards.append(pendingCard(file, id));
    send({ type: 'inspect', id, file });
  }
  clearButton.hidden = false;
  announce(`Checking ${list.length === 1 ? list[0]?.name : `${list.length} files`}…`);
}

function settle(id: number, words: string): void {
  if (!pending.delete(id)) return;
  finished.push(words);
  if (pending.size > 0) return;
  announce(finished.length === 1 ? (finished[0] as string) : `${finished.length} files checked. ${finished.join(' ')}`);
  finished = [];
}

function replaceCard(id: number, card: HTMLElement): void {
  const current = cardElement(id);
  if (current === null) return;
  // Keep the keyboard where it was: a focused Cancel button goes, so focus the new card's heading.
  const hadFocus = current.contains(document.activeElement);
  current.replaceWith(card);
  if (hadFocus) {
    const heading = card.querySelector<HTMLElement>('h3');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
  }
}

function uploadParts(id: number) {
  const card = cardElement(id);
  return {
    card,
    button: card?.querySelector<HTMLButtonElement>('[data-action="upload"]') ?? null,
    cancel: card?.querySelector<HTMLButtonElement>('[data-action="cancel-upload"]') ?? null,
    progress: card?.querySelector<HTMLProgressElement>('progress') ?? null,
    status: card?.querySelector<HTMLElement>('.upload-status') ?? null,
  };
}

function uploadEnded(id: number, text: string, outcome: 'done' | 'failed'): void {
  const parts = uploadParts(id);
  if (parts.button) parts.button.disabled = false;
  if (parts.cancel) parts.cancel.hidden = true;
  if (parts.progress && outcome === 'failed') parts.progress.hidden = true;
  if (parts.status) {
    parts.status.textContent = text;
    parts.status.dataset.outcome = outcome;
  }
  announce(text);
}

worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'report': {
      const report = message.report;
      reports.set(message.id, report);
      replaceCard(message.id, reportCard(report, message.id, { docsBase }));
      const verdict = report.safe ? 'safe' : `unsafe: ${report.failedChecks.map((check) => check.name).join(', ')}`;
      const inside = layerWords(report.layers);
      settle(message.id, `${report.fileName}: ${report.format}${inside === undefined ? '' : ` in ${inside}`}, ${report.virtualSizeText}, ${verdict}.`);
      break;
    }
    case 'failure':
      replaceCard(message.id, failureCard(message.failure, message.id));
      settle(message.id, `${message.failure.fileName}: ${message.failure.code === 'ABORTED' ? 'cancelled' : `could not be read. ${message.failure.summary}`}`);
      break;
    case 'upload-progress': {
      const { progress, status } = uploadParts(message.id);
      if (progress) progress.value = message.sent;
      if (status) status.textContent = `Uploading: ${Math.floor((message.sent / Math.max(message.total, 1)) * 100)} %`;
      break;
    }
    case 'uploaded': {
      const upload = message.upload;
      const { card } = uploadParts(message.id);
      card?.setAttribute('data-glance-image', upload.id);
      card?.setAttribute('data-upload-method', upload.method);
      const how = upload.method === 'stream' ? 'streamed, read once' : 'sent from the file';
      const warnings = upload.warnings.length === 0 ? '' : ` Warnings: ${upload.warnings.join('; ')}.`;
      uploadEnded(message.id, `Uploaded: image ${upload.id} is ${upload.status}, ${upload.size ?? '?'} bytes (${how}).${warnings}`, 'done');
      break;
    }
    case 'upload-failed':
      uploadEnded(message.id, `${message.refused ? 'Refused' : 'Upload failed'}: ${message.message}`, 'failed');
      break;
  }
});

worker.addEventListener('error', (event) => {
  // The worker failed to load or crashed: every card still reading says so.
  for (const id of pending) {
    replaceCard(id, failureCard({ fileName: cardElement(id)?.querySelector('h3')?.textContent ?? '', fileSize: 0, code: 'INTERNAL', summary: 'The page could not start its reader.', message: event.message }, id));
  }
  pending.clear();
});

function startUpload(id: number, card: HTMLElement): void {
  const parts = uploadParts(id);
  if (endpointInput.value.trim() === '' || !endpointInput.checkValidity()) {
    glanceSettings.open = true;
    endpointInput.focus();
    if (parts.status) parts.status.textContent = 'Enter the Glance endpoint first (and a token, unless it has no authentication).';
    return;
  }
  const name = card.querySelector<HTMLInputElement>('input[name="image-name"]')?.value.trim() || defaultImageName(reports.get(id)?.fileName ?? 'image');
  const allowUnsafe = card.querySelector<HTMLInputElement>('input[name="allow-unsafe"]')?.checked ?? false;
  if (parts.button) parts.button.disabled = true;
  if (parts.cancel) parts.cancel.hidden = false;
  if (parts.progress) {
    parts.progress.hidden = false;
    parts.progress.value = 0;
  }
  if (parts.status) {
    parts.status.textContent = 'Creating the image…';
    delete parts.status.dataset.outcome;
  }
  send({ type: 'upload', id, endpoint: endpointInput.value, token: tokenInput.value, name, allowUnsafe });
}

async function copyCommand(card: HTMLElement, button: HTMLButtonElement): Promise<void> {
  const text = card.querySelector('.command code')?.textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
    announce('Command copied.');
  } catch {
    // No clipboard (an insecure origin, or refused): select the text for the person to copy.
    const code = card.querySelector('.command code');
    if (code) window.getSelection()?.selectAllChildren(code);
    button.textContent = 'Selected: press Ctrl+C';
  }
  window.setTimeout(() => {
    button.textContent = 'Copy command';
  }, 2000);
}

cards.addEventListener('click', (event) => {
  const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
  const card = button?.closest<HTMLElement>('[data-card]');
  if (!button || !card) return;
  const id = Number(card.dataset.card);
  switch (button.dataset.action) {
    case 'cancel':
      send({ type: 'cancel', id });
      break;
    case 'remove': {
      send({ type: 'forget', id });
      reports.delete(id);
      pending.delete(id);
      const next = card.nextElementSibling ?? card.previousElementSibling;
      card.remove();
      // Focus goes to a neighbour, or back to the file input when no card is left.
      const target = next?.querySelector<HTMLElement>('h3') ?? input;
      if (target !== input) target.setAttribute('tabindex', '-1');
      target.focus();
      clearButton.hidden = cards.children.length === 0;
      break;
    }
    case 'copy':
      void copyCommand(card, button);
      break;
    case 'upload':
      startUpload(id, card);
      break;
    case 'cancel-upload':
      send({ type: 'cancel-upload', id });
      break;
  }
});

// The command line follows the image name typed.
cards.addEventListener('input', (event) => {
  const field = event.target as HTMLInputElement;
  if (field.name !== 'image-name') return;
  const card = field.closest<HTMLElement>('[data-card]');
  const report = reports.get(Number(card?.dataset.card));
  const code = card?.querySelector('.command code');
  if (report && code) code.textContent = openstackImageCreate(report.glanceProperties, report.fileName, field.value.trim() || defaultImageName(report.fileName));
});

input.addEventListener('change', () => {
  if (input.files) check(input.files);
  // The same file picked again is a new check.
  input.value = '';
});

clearButton.addEventListener('click', () => {
  for (const card of cards.querySelectorAll<HTMLElement>('[data-card]')) send({ type: 'forget', id: Number(card.dataset.card) });
  cards.replaceChildren();
  reports.clear();
  pending.clear();
  finished = [];
  clearButton.hidden = true;
  announce('Results cleared.');
  input.focus();
});

// Files dropped anywhere on the page.
const dropzone = byId<HTMLElement>('picker');
const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  dropzone.classList.add('dragging');
});
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) dropzone.classList.remove('dragging');
});
document.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dropzone.classList.remove('dragging');
  if (event.dataTransfer) check(event.dataTransfer.files);
});
