/**
 * The decision an image service makes when a user declares an image's `disk_format`,
 * following OpenStack Glance's upload rules (glance-as-defender, 2025.1 and later), with
 * the format-confusion attack rejected outright.
 *
 * @module
 */
import type { ImageInfoOf } from './image-info.js';

/** What to do with an upload whose declared `disk_format` was checked against its content. */
export interface DiskFormatDecision {
  /** `accept`, `accept-with-warning` or `reject`. */
  decision: 'accept' | 'accept-with-warning' | 'reject';
  /** Why: always given for a warning or a rejection, a short note for an acceptance. */
  reason: string;
  /** The format found in the content (ours: `vhd` for qemu's `vpc`). */
  detected: string;
}

/** Glance `disk_format` values whose content cannot be inspected: only plain raw bytes are expected. */
const UNINSPECTABLE = new Set(['ami', 'ari', 'aki']);

/**
 * Formats qemu would recognise by itself (block.c `find_image_format`) if the image were
 * ever opened without an explicit format: declaring one of these as raw is the attack of
 * CVE-2024-40767 and CVE-2024-44082 (OSSA-2024-002).
 */
const QEMU_PROBED = new Set(['qcow2', 'qcow', 'qed', 'vmdk', 'vhdx', 'vdi', 'parallels', 'bochs', 'cloop']);

/** Glance's names for formats that have another name here. */
const ALIASES: Record<string, string> = { vpc: 'vhd', ploop: 'parallels' };

function hasPartitionTable(info: ImageInfoOf<string, unknown>): boolean {
  const details = info.details as { partitionTable?: unknown } | undefined;
  return details !== undefined && details !== null && details.partitionTable !== undefined && details.partitionTable !== null;
}

/** True when qemu's probe (which looks only at the first 512 bytes) would take the content for `format`. */
function qemuWouldProbe(info: ImageInfoOf<string, unknown>): boolean {
  if (QEMU_PROBED.has(info.format)) return true;
  const details = info.details as { diskType?: string; version?: number } | undefined;
  if (info.format === 'vhd') return details?.diskType !== 'fixed'; // a fixed VHD's footer is at the end: raw to qemu
  if (info.format === 'luks') return details?.version === 1; // qemu 7.2 knows LUKS1 only
  return false;
}

/** The safety checks an image failed (waived ones left out), each as `name (reason)`. */
export function failedChecks(info: ImageInfoOf<string, unknown>): string[] {
  return info.safety.checks.filter((check) => !check.passed && check.waived !== true).map((check) => `${check.name} (${check.reason ?? 'failed'})`);
}

/**
 * Decides whether an upload declared as `claimed` (a Glance `disk_format`: `raw`, `qcow2`,
 * `vmdk`, `vhd`, `vhdx`, `vdi`, `iso`, `ploop`, `gpt`, `ami`, ...) may be accepted, given
 * what `introspect` found in its content.
 *
 * | declared | content | decision |
 * | --- | --- | --- |
 * | X | X | accept (if safe) |
 * | `raw` | raw, with or without a partition table | accept |
 * | `raw` | a format qemu recognises by itself (qcow2, VMDK, ...) | reject: the format-confusion attack |
 * | `raw` | an ISO, a fixed VHD, LUKS2, a DMG (qemu reads them as raw) | accept with a warning |
 * | `iso` | an ISO with a partition table in its system area (hybrid) | accept: one format |
 * | `gpt` | raw with a partition table | accept |
 * | `ami`/`ari`/`aki` | plain raw | accept; anything else, even a partition table: reject |
 * | anything | unsafe (a failed check not waived) | reject, naming the checks |
 * | X | Y | reject: mismatch |
 */
export function verifyDiskFormat(info: ImageInfoOf<string, unknown>, claimed: string): DiskFormatDecision {
  const detected = info.format;
  const declared = ALIASES[claimed.toLowerCase()] ?? claimed.toLowerCase();
  const decide = (decision: DiskFormatDecision['decision'], reason: string): DiskFormatDecision => ({ decision, reason, detected });

  let formatDecision: DiskFormatDecision;
  if (declared === detected) {
    formatDecision = decide('accept', `the content is ${detected}, as declared`);
  } else if (declared === 'raw') {
    if (qemuWouldProbe(info)) {
      return decide('reject', `declared raw, but the content is a ${detected} image that qemu would open as ${detected} (format confusion: CVE-2024-40767, CVE-2024-44082)`);
    }
    formatDecision = decide('accept-with-warning', `declared raw, but the content is a ${detected} image; qemu reads it as raw`);
  } else if (declared === 'gpt' && detected === 'raw' && hasPartitionTable(info)) {
    formatDecision = decide('accept', 'a raw disk with a partition table, as declared');
  } else if (UNINSPECTABLE.has(declared)) {
    if (detected !== 'raw' || hasPartitionTable(info)) {
      return decide('reject', `declared ${claimed}, whose content cannot be checked, but the content is ${detected === 'raw' ? 'a partitioned disk' : `a ${detected} image`}`);
    }
    formatDecision = decide('accept', `declared ${claimed}: plain bytes, nothing recognised`);
  } else {
    return decide('reject', `declared ${claimed}, but the content is ${detected}`);
  }

  const failed = failedChecks(info);
  if (failed.length > 0) return decide('reject', `the image failed safety checks: ${failed.join(', ')}`);
  return formatDecision;
}
