/**
 * The page's worker: it reads the files (byte ranges only, through `introspect()`), keeps
 * the results, and uploads to Glance when asked, so that the page stays responsive however
 * long a compressed image takes to decode. Loaded as a module worker; the codecs are
 * dynamic imports, fetched only when a file needs them.
 *
 * @module
 */
import { type ImageInfo, introspect } from '../src/index.js';
import type { PageMessage, WorkerMessage } from './protocol.js';
import { describeFailure, describeImage } from './report.js';
import { UploadRefusal, explainUploadFailure, uploadToGlance } from './upload.js';

/** The worker's global scope, as far as this file uses it (the DOM typings have no worker scope). */
const scope = globalThis as unknown as {
  postMessage(message: WorkerMessage): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<PageMessage>) => void): void;
  addEventListener(type: 'securitypolicyviolation', listener: (event: SecurityPolicyViolationEvent) => void): void;
  location: { origin: string };
};

/** Origins the page's Content-Security-Policy kept the worker from connecting to (to explain a failed upload). */
const blockedOrigins = new Set<string>();
scope.addEventListener('securitypolicyviolation', (event) => {
  try {
    blockedOrigins.add(new URL(event.blockedURI).origin);
  } catch {
    // Not a URL ('inline', 'eval'): nothing to connect to.
  }
});

/** Files read at once: each is mostly waiting for its next byte range. */
const CONCURRENT_READS = 3;

interface Entry {
  file: File;
  info?: ImageInfo;
  reading?: AbortController;
  uploading?: AbortController;
}

const entries = new Map<number, Entry>();
const queue: number[] = [];
let active = 0;

function post(message: WorkerMessage): void {
  scope.postMessage(message);
}

async function inspectOne(id: number, entry: Entry): Promise<void> {
  const controller = new AbortController();
  entry.reading = controller;
  const facts = { name: entry.file.name, size: entry.file.size };
  const started = performance.now();
  try {
    const info = await introspect(entry.file, { signal: controller.signal });
    const elapsed = performance.now() - started;
    entry.info = info;
    post({ type: 'report', id, report: describeImage(info, facts, elapsed) });
  } catch (error) {
    post({ type: 'failure', id, failure: describeFailure(error, facts) });
  } finally {
    delete entry.reading;
  }
}

function pump(): void {
  while (active < CONCURRENT_READS && queue.length > 0) {
    const id = queue.shift() as number;
    const entry = entries.get(id);
    if (entry === undefined) continue;
    active += 1;
    void inspectOne(id, entry).finally(() => {
      active -= 1;
      pump();
    });
  }
}

async function upload(id: number, message: Extract<PageMessage, { type: 'upload' }>): Promise<void> {
  const entry = entries.get(id);
  if (entry?.info === undefined) {
    post({ type: 'upload-failed', id, refused: true, message: 'the file has not been checked' });
    return;
  }
  const controller = new AbortController();
  entry.uploading = controller;
  const total = entry.file.size;
  let lastPosted = 0;
  const onProgress = (sent: number) => {
    // A message per percent at most: progress events come per network packet.
    if (sent - lastPosted < total / 100 && sent < total) return;
    lastPosted = sent;
    post({ type: 'upload-progress', id, sent, total });
  };
  try {
    const report = await uploadToGlance(entry.file, entry.info, message, onProgress, controller.signal);
    post({ type: 'uploaded', id, upload: report });
  } catch (error) {
    const refused = error instanceof UploadRefusal;
    post({ type: 'upload-failed', id, refused, message: refused ? error.message : explainUploadFailure(error, message.endpoint, blockedOrigins, scope.location.origin) });
  } finally {
    delete entry.uploading;
  }
}

scope.addEventListener('message', (event) => {
  const message = event.data;
  switch (message.type) {
    case 'inspect':
      entries.set(message.id, { file: message.file });
      queue.push(message.id);
      pump();
      break;
    case 'cancel': {
      const entry = entries.get(message.id);
      if (entry === undefined) break;
      if (entry.reading !== undefined) entry.reading.abort();
      else if (entry.info === undefined && queue.includes(message.id)) {
        queue.splice(queue.indexOf(message.id), 1);
        post({ type: 'failure', id: message.id, failure: describeFailure(new DOMException('cancelled', 'AbortError'), { name: entry.file.name, size: entry.file.size }) });
      }
      break;
    }
    case 'forget': {
      const entry = entries.get(message.id);
      entry?.reading?.abort();
      entry?.uploading?.abort();
      entries.delete(message.id);
      break;
    }
    case 'upload':
      void upload(message.id, message);
      break;
    case 'cancel-upload':
      entries.get(message.id)?.uploading?.abort();
      break;
  }
});
