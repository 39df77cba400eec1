/**
 * The messages between the page (`main.ts`) and its worker (`worker.ts`). Everything that
 * crosses is structured-cloneable: the `File` itself (a handle, not its bytes) goes to the
 * worker, plain JSON-safe reports come back.
 *
 * @module
 */
import type { GlanceProperties } from '../src/index.js';

/** One row of a summary, as the CLI prints it (see `src/summary.ts` for the conventions). */
export interface DetailRow {
  /** `row`: label and value; `heading`: a label alone (qemu's `name:` for a dict); `line`: a line of a table. */
  kind: 'row' | 'heading' | 'line';
  label: string;
  value: string;
  /** Nesting level: qemu indents four spaces per level. */
  depth: number;
}

/** A failed (or waived) safety check, in plain words. */
export interface CheckReport {
  name: string;
  /** What the check stops, from its module. */
  description: string;
  /** What was found in this image. */
  reason: string;
}

/** One layer around the disk (compression, an archive, an OVA), outermost first. */
export interface LayerReport {
  format: string;
  title: string;
  member?: string;
  rows: DetailRow[];
}

/** The OVF descriptor of an OVA, in the units a person reads. */
export interface OvfReport {
  name?: string;
  operatingSystem?: string;
  cpus?: number;
  memory?: string;
  firmware?: string;
  disks: Array<{ id: string; file?: string; capacity?: string; format?: string }>;
}

/** Everything a result card shows about one image; JSON-safe. */
export interface ImageReport {
  fileName: string;
  fileSize: number;
  format: string;
  formatTitle: string;
  layers: LayerReport[];
  virtualSize: number;
  /** qemu's `size_to_str`: `10 GiB`. */
  virtualSizeText: string;
  details: DetailRow[];
  /** Other formats whose signature matched. */
  alsoMatches: string[];
  warnings: string[];
  safe: boolean;
  failedChecks: CheckReport[];
  waivedChecks: CheckReport[];
  /** How many checks applied. */
  checkCount: number;
  glanceProperties: GlanceProperties;
  bytesRead: number;
  elapsedMs: number;
  /** `read 14 KiB of 2.1 GiB in 3 ms`. */
  readText: string;
  ovf?: OvfReport;
  /** Every disk of a layer holding more than one (an OVA), the first being this one. */
  disks?: Array<{ format: string; virtualSizeText: string; safe: boolean }>;
  /** The whole result as the command line's `--json` prints it (`{ filename, ...info }`), indented. */
  resultJson: string;
}

/** Why an image could not be read, in plain words. */
export interface FailureReport {
  fileName: string;
  fileSize: number;
  /** The library's stable error code (`TRUNCATED`, `CORRUPT`...), or `INTERNAL`. */
  code: string;
  /** One sentence for a person. */
  summary: string;
  /** The library's own message (format, field and what is wrong). */
  message: string;
}

/** What the page asks the worker to do. */
export type PageMessage =
  | { type: 'inspect'; id: number; file: File }
  | { type: 'cancel'; id: number }
  | { type: 'forget'; id: number }
  | { type: 'upload'; id: number; endpoint: string; token: string; name: string; allowUnsafe: boolean }
  | { type: 'cancel-upload'; id: number };

/** What an upload ended with. */
export interface UploadReport {
  id: string;
  status: string;
  size: number | null;
  /** `stream`: one read through `inspect()` (HTTP/2 in Chromium); `file`: the File sent as the body. */
  method: 'stream' | 'file';
  properties: GlanceProperties;
  warnings: string[];
}

/** What the worker tells the page. */
export type WorkerMessage =
  | { type: 'report'; id: number; report: ImageReport }
  | { type: 'failure'; id: number; failure: FailureReport }
  | { type: 'upload-progress'; id: number; sent: number; total: number }
  | { type: 'uploaded'; id: number; upload: UploadReport }
  | { type: 'upload-failed'; id: number; refused: boolean; message: string };
