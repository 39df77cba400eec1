// The fuzz target, run in a worker thread so that the main thread can stop it when an
// input hangs. It introspects each input it is sent, through the source kind it is told
// (and with `inspectGuest` when told: a guest seed's mutations),
// and answers with the outcome, the time taken, the new coverage and the heap in use.
import inspector from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';

const library = await import(workerData.libraryUrl);
const { introspect, isIntrospectionError } = library;

const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
const coverage = workerData.coverage;
if (coverage) {
  await post('Profiler.enable');
  await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  await post('Profiler.takePreciseCoverage'); // reset
}

/** Ranges of the library's code that ran for the last input, as stable strings. */
async function coveredRanges() {
  const { result } = await post('Profiler.takePreciseCoverage');
  const ranges = [];
  for (const script of result) {
    if (!script.url.includes('/dist/')) continue;
    const name = script.url.slice(script.url.lastIndexOf('/dist/') + 6);
    for (const fn of script.functions) {
      for (const range of fn.ranges) {
        if (range.count > 0) ranges.push(`${name}:${range.startOffset}:${range.endOffset}`);
      }
    }
  }
  return ranges;
}

function* chunked(bytes, sizes) {
  let offset = 0;
  let index = 0;
  while (offset < bytes.byteLength) {
    const size = sizes[index % sizes.length];
    yield bytes.subarray(offset, offset + size);
    offset += size;
    index += 1;
  }
}

function sourceFor(kind, bytes, sizes) {
  if (kind === 'bytes') return bytes;
  if (kind === 'random-access') return { size: bytes.byteLength, read: async (offset, length) => bytes.subarray(offset, offset + length) };
  return (async function* () {
    yield* chunked(bytes, sizes);
  })();
}

/** What guest inspection came to, for the fuzzer's counts: an OS, file systems only, nothing, or unavailable (and why, in short). */
function guestOutcome(guest) {
  if (guest === undefined) return 'none';
  if ('unavailable' in guest) return `unavailable: ${guest.unavailable.replace(/\d+/g, 'N').split(/[:(]/)[0].slice(0, 60)}`;
  if (guest.os !== undefined) return `os ${guest.os.type}`;
  return guest.filesystems.some((fs) => fs.type !== 'unknown') ? 'file systems, no OS' : 'nothing found';
}

let peakHeap = 0;
parentPort.on('message', async ({ id, bytes, kind, sizes, maxBufferBytes, maxDecompressedBytes, inspectGuest }) => {
  const started = performance.now();
  let outcome;
  try {
    const info = await introspect(sourceFor(kind, bytes, sizes), { maxBufferBytes, ...(maxDecompressedBytes === undefined ? {} : { maxDecompressedBytes }), ...(inspectGuest ? { inspectGuest: true } : {}) });
    JSON.stringify(info); // results must be plain data
    outcome = { ok: true, format: info.format, virtualSize: info.virtualSize, ...(inspectGuest ? { guest: guestOutcome(info.guest) } : {}) };
  } catch (error) {
    if (isIntrospectionError(error) && error.code !== 'INTERNAL') {
      outcome = { ok: true, code: error.code, format: error.format };
    } else {
      outcome = {
        ok: false,
        code: isIntrospectionError(error) ? error.code : 'NOT_AN_INTROSPECTION_ERROR',
        message: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error),
      };
    }
  }
  const milliseconds = performance.now() - started;
  const heap = process.memoryUsage();
  peakHeap = Math.max(peakHeap, heap.heapUsed + heap.arrayBuffers);
  const ranges = coverage ? await coveredRanges() : [];
  parentPort.postMessage({ id, outcome, milliseconds, ranges, heap: peakHeap });
});
parentPort.postMessage({ ready: true });
