/**
 * Auditing what a Glance already stores: every image is read by ranges (a few KiB each,
 * not a download) and its declared `disk_format`, `container_format` and properties are
 * compared with what its bytes say.
 *
 * | finding | where |
 * | --- | --- |
 * | the declared `disk_format`/`container_format` contradicts the content (a qcow2 declared raw: the format-confusion attack) | `problems` |
 * | the content is unsafe (backing or data files, named extents, format gadgets) | `problems` |
 * | a property contradicts the content (`vmware_adaptertype=ide` on an LSI Logic disk, `min_disk` below the virtual size) | `problems` |
 * | a property the content proves is missing | `proposed` |
 * | the declared format is accepted with a warning (an ISO declared raw, which qemu reads as raw) | `notes` |
 *
 * Browser-safe.
 *
 * @module
 */
import { type IntrospectionErrorCode, isIntrospectionError, toIntrospectionError } from '../errors.js';
import { type ImageInfo, introspect } from '../index.js';
import type { SafetyVerdict } from '../safety.js';
import { failedChecks } from '../verify-disk-format.js';
import type { GlanceClient, GlanceImage, JsonPatchOperation } from './client.js';
import type { GlanceProperties } from './declaration.js';
import { glanceProperties } from './properties.js';
import { formatDecision, propertyPatch } from './upload.js';
import { allContainers } from '../defaults.js';
import { ARCHITECTURE_NAMES, GLANCE_GENERIC_CONTAINER_FORMAT } from './vocabulary.js';

/**
 * The `container_format` values the bytes can confirm or refute: `bare`, Glance's generic
 * `compressed`, and what the container modules declare (an OVA's `ova`). Others (`ami`,
 * `docker`...) say nothing the bytes could contradict.
 */
const JUDGED_CONTAINER_FORMATS: ReadonlySet<string> = new Set(['bare', GLANCE_GENERIC_CONTAINER_FORMAT, ...allContainers.map((module) => module.glance?.containerFormat).filter((format): format is string => format !== undefined)]);

/** Default number of images read at once. */
export const DEFAULT_AUDIT_CONCURRENCY = 4;
/** Most images read at once. */
export const MAX_AUDIT_CONCURRENCY = 64;

/** Options for {@link auditImages}. */
export interface AuditOptions {
  /** Images read at once; default {@link DEFAULT_AUDIT_CONCURRENCY}. */
  concurrency?: number;
  /** Safety checks whose failure is not a problem. */
  allowChecks?: readonly string[];
  /** Called with each image's entry as soon as it is done (in completion order). */
  onImage?: (entry: AuditEntry) => void;
  signal?: AbortSignal;
}

/** What the bytes of an image say, in an {@link AuditEntry}. */
export interface AuditDetected {
  format: string;
  virtualSize: number;
  safety: SafetyVerdict;
  containers?: ReadonlyArray<{ format: string }>;
  matchedFormats: string[];
  warnings: string[];
}

/** The audit of one image. */
export interface AuditEntry {
  id: string;
  name: string | null;
  status: string;
  declared: { disk_format: string | null; container_format: string | null };
  /** Absent when the image was not read (not active, or unreadable). */
  detected?: AuditDetected;
  /** Contradictions and unsafe content: the reasons the audit fails. */
  problems: string[];
  /** Properties the content proves and the image lacks. */
  proposed: GlanceProperties;
  /** Remarks that are not problems. */
  notes: string[];
  /** What reading the image cost. */
  reads?: { requests: number; bytes: number };
  /** Why the image was not read: not active (no data), or Glance failed to serve it. */
  skipped?: string;
  /** A failure to reach the data (Glance's answer, the network): the audit of this image is incomplete. */
  error?: string;
}

/** Error codes that say the content itself is broken (a problem), not that it could not be fetched. */
const CONTENT_ERRORS: ReadonlySet<IntrospectionErrorCode> = new Set(['TRUNCATED', 'CORRUPT', 'UNSUPPORTED', 'LIMIT_EXCEEDED']);

/**
 * Values a declared property may have for what the content shows, beyond the same value.
 * A VMDK descriptor writes an LSI Logic SAS or a VMware paravirtual controller as
 * `lsilogic` (Nova's `get_vmdk_adapter_type` does so on purpose): a declared `lsiLogicsas`
 * or `paraVirtual` does not contradict it.
 */
const CONSISTENT_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  vmware_adaptertype: { lsiLogic: ['lsiLogicsas', 'paraVirtual'] },
};

/** Audits every image Glance lists; entries come back in listing order. */
export async function auditImages(client: GlanceClient, options: AuditOptions = {}): Promise<AuditEntry[]> {
  const images: GlanceImage[] = [];
  for await (const image of client.listImages(options.signal ? { signal: options.signal } : {})) images.push(image);
  const entries: AuditEntry[] = new Array(images.length);
  const concurrency = Math.max(1, Math.min(MAX_AUDIT_CONCURRENCY, Math.floor(options.concurrency ?? DEFAULT_AUDIT_CONCURRENCY)));
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const index = next;
      next += 1;
      const entry = await auditStoredImage(client, images[index] as GlanceImage, options);
      entries[index] = entry;
      options.onImage?.(entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
  return entries;
}

/** Reads one stored image by ranges and audits it. */
export async function auditStoredImage(client: GlanceClient, image: GlanceImage, options: Pick<AuditOptions, 'allowChecks' | 'signal'> = {}): Promise<AuditEntry> {
  const entry: AuditEntry = {
    id: image.id,
    name: image.name,
    status: image.status,
    declared: { disk_format: image.disk_format, container_format: image.container_format },
    problems: [],
    proposed: {},
    notes: [],
  };
  if (image.status !== 'active') {
    entry.skipped = `status ${image.status}: no data to read`;
    return entry;
  }
  let source: Awaited<ReturnType<GlanceClient['openImageData']>> | undefined;
  try {
    source = await client.openImageData(image.id, options.signal);
    const info = await introspect(source, { ...(options.allowChecks && { allowChecks: options.allowChecks }), ...(options.signal && { signal: options.signal }) });
    return { ...entry, ...judgeImage(image, info), detected: detectedOf(info), reads: { requests: source.requests, bytes: source.bytesReceived } };
  } catch (caught) {
    const error = toIntrospectionError(caught);
    if (source) entry.reads = { requests: source.requests, bytes: source.bytesReceived };
    if (isIntrospectionError(error) && CONTENT_ERRORS.has(error.code)) entry.problems.push(`unreadable content: ${error.message}`);
    else entry.error = error.message;
    return entry;
  }
}

function detectedOf(info: ImageInfo): AuditDetected {
  const withLayers = info as ImageInfo & { containers?: ReadonlyArray<{ format: string }> };
  return {
    format: info.format,
    virtualSize: info.virtualSize,
    safety: info.safety,
    ...(withLayers.containers && { containers: withLayers.containers }),
    matchedFormats: info.matchedFormats,
    warnings: info.warnings,
  };
}

/**
 * The problems, proposals and notes for an image record and what its bytes say. Pure: no
 * I/O (the audit reads, this judges).
 */
export function judgeImage(image: GlanceImage, info: ImageInfo): Pick<AuditEntry, 'problems' | 'proposed' | 'notes'> {
  const problems: string[] = [];
  const notes: string[] = [];
  const proposed: GlanceProperties = {};
  const computed = glanceProperties(info);
  const withShortId = glanceProperties(info, { osDistro: 'libosinfo' });

  if (image.disk_format) {
    const decision = formatDecision(info, image.disk_format);
    if (decision.decision === 'reject') problems.push(`disk_format: ${decision.reason}`);
    else if (decision.decision === 'accept-with-warning') notes.push(`disk_format: ${decision.reason}`);
  }
  const container = image.container_format;
  const expected = computed.container_format;
  if (typeof container === 'string' && JUDGED_CONTAINER_FORMATS.has(container) && container !== expected) {
    const layers = (info as ImageInfo & { containers?: ReadonlyArray<{ format: string }> }).containers ?? [];
    const content = layers.length === 0 ? 'a bare disk' : `a disk inside ${layers.map((layer) => layer.format).join(' inside ')}`;
    problems.push(`container_format: declared ${container}, but the content is ${content}`);
  }
  for (const failed of failedChecks(info)) problems.push(`unsafe: ${failed}`);

  for (const [key, value] of Object.entries(computed)) {
    if (key === 'disk_format' || key === 'container_format') continue;
    const current = image[key];
    if (key === 'min_disk') {
      const needed = value as number;
      if (image.min_disk === 0 && needed > 0) proposed.min_disk = needed;
      else if (image.min_disk < needed) problems.push(`min_disk: ${image.min_disk} GiB is less than the virtual size (${needed} GiB)`);
      continue;
    }
    if (current === undefined || current === null || current === '') {
      proposed[key] = value;
      continue;
    }
    if (!consistent(key, String(current), String(value), withShortId[key])) {
      problems.push(`${key}: declared ${String(current)}, but the content shows ${String(value)}`);
    }
  }
  return { problems, proposed, notes };
}

/** True when a declared property agrees with what the content shows. */
function consistent(key: string, declared: string, shown: string, shownAsShortId: unknown): boolean {
  if (declared === shown) return true;
  if (CONSISTENT_VALUES[key]?.[shown]?.includes(declared)) return true;
  // os_distro in either vocabulary: `ubuntu` or the libosinfo short id `ubuntu22.04`.
  if (key === 'os_distro' && declared === shownAsShortId) return true;
  // A more precise version (22.04.3 for 22.04) or an architecture in another spelling (amd64).
  if (key === 'os_version' && declared.startsWith(`${shown}.`)) return true;
  if (key === 'architecture' && ARCHITECTURE_NAMES[declared] === shown) return true;
  return false;
}

/**
 * Adds the proposed properties to every image that has no problem and no error, by JSON
 * Patch. Never touches `disk_format`, `container_format` or the data. Returns the
 * operations applied per image.
 */
export async function applyProposals(client: GlanceClient, entries: readonly AuditEntry[], signal?: AbortSignal): Promise<Array<{ id: string; operations: JsonPatchOperation[] }>> {
  const applied: Array<{ id: string; operations: JsonPatchOperation[] }> = [];
  for (const entry of entries) {
    if (entry.problems.length > 0 || entry.error !== undefined || entry.skipped !== undefined) continue;
    const image = await client.getImage(entry.id, signal);
    const operations = propertyPatch(image, entry.proposed);
    if (operations.length === 0) continue;
    await client.updateImage(entry.id, operations, signal);
    applied.push({ id: entry.id, operations });
  }
  return applied;
}
