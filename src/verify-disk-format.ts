/**
 * The decision an image service makes when a user declares an image's `disk_format`,
 * following OpenStack Glance's upload rules (glance-as-defender, 2025.1 and later), with
 * the format-confusion attack rejected outright.
 *
 * The rules are generic; what is particular to a format is declared by its module:
 * `aliases` (qemu's and Glance's other names), `qemuProbes` (whether qemu would recognise
 * the content by itself), `declaredAs` (other declarations the content may carry).
 *
 * @module
 */
import { withArticle } from './bytes.js';
import type { AnyContainerModule } from './container-module.js';
import type { AnyFormatModule } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';

/** What to do with an upload whose declared `disk_format` was checked against its content. */
export interface DiskFormatDecision {
  /** `accept`, `accept-with-warning` or `reject`. */
  decision: 'accept' | 'accept-with-warning' | 'reject';
  /** Why: always given for a warning or a rejection, a short note for an acceptance. */
  reason: string;
  /** The format found in the content (this library's name for it). */
  detected: string;
}

/** The safety checks an image failed (waived ones left out), each as `name (reason)`. */
export function failedChecks(info: ImageInfoOf<string, unknown>): string[] {
  return info.safety.checks.filter((check) => !check.passed && check.waived !== true).map((check) => `${check.name} (${check.reason ?? 'failed'})`);
}

/**
 * Glance's `container_format` against the layers found: `bare` (or none declared) admits no
 * layer; a container module's own `glance.containerFormat` (`ova`, `compressed`) admits a
 * layer of that module as the outermost one. `undefined` when the declaration fits.
 */
function verifyContainerFormat(info: ImageInfoOf<string, unknown>, claimed: string | undefined, containers: readonly AnyContainerModule[]): DiskFormatDecision | undefined {
  const outer = info.containers?.[0];
  const declared = claimed?.toLowerCase() ?? 'bare';
  const reject = (reason: string): DiskFormatDecision => ({ decision: 'reject', reason, detected: info.format });
  if (outer === undefined) {
    return declared === 'bare' ? undefined : reject(`declared container ${declared}, but the image is bare (${info.format}, no layer around it)`);
  }
  const module = containers.find((candidate) => candidate.name === outer.format);
  const fits = module?.glance?.containerFormat;
  if (declared === 'bare') return reject(`declared bare, but the ${info.format} image is inside ${outer.format}${outer.member === undefined ? '' : ` (member ${outer.member})`}`);
  if (fits !== declared) return reject(`declared container ${declared}, but the outermost layer is ${outer.format}${fits === undefined ? '' : ` (container ${fits})`}`);
  return undefined;
}

/** True when qemu's probe (which looks only at the first 512 bytes) would take the content for its format. */
function qemuWouldProbe(module: AnyFormatModule | undefined, details: unknown): boolean {
  const probes = module?.qemuProbes;
  return typeof probes === 'function' ? probes(details) : probes === true;
}

/**
 * Decides whether an upload declared as `claimed` (a Glance `disk_format`) may be accepted,
 * given what `introspect` found in its content and the format modules it considered.
 *
 * | declared | content | decision |
 * | --- | --- | --- |
 * | X (or another name of X) | X | accept (if safe) |
 * | the fallback (`raw`) | a format qemu recognises by itself (`qemuProbes`) | reject: the format-confusion attack (CVE-2024-40767, CVE-2024-44082) |
 * | the fallback (`raw`) | a format qemu reads as raw anyway | accept with a warning |
 * | Y | X whose module accepts being declared Y (`declaredAs`) | as the module decides |
 * | anything | unsafe (a failed check not waived) | reject, naming the checks |
 * | Y | X | reject: mismatch |
 */
export function verifyDiskFormatWith(
  formats: readonly AnyFormatModule[],
  info: ImageInfoOf<string, unknown>,
  claimed: string,
  claimedContainer?: string,
  containers: readonly AnyContainerModule[] = [],
): DiskFormatDecision {
  const detected = info.format;
  const containerDecision = verifyContainerFormat(info, claimedContainer, containers);
  if (containerDecision !== undefined) return containerDecision;
  const declaredName = claimed.toLowerCase();
  const declaredModule = formats.find((module) => module.name === declaredName || (module.aliases ?? []).includes(declaredName));
  const declared = declaredModule?.name ?? declaredName;
  const detectedModule = formats.find((module) => module.name === detected);
  const fallback = formats.find((module) => module.fallback)?.name;
  const decide = (decision: DiskFormatDecision['decision'], reason: string): DiskFormatDecision => ({ decision, reason, detected });

  let formatDecision: DiskFormatDecision;
  const special = declared === detected ? undefined : detectedModule?.declaredAs?.(declaredName, info.details);
  if (declared === detected) {
    formatDecision = decide('accept', `the content is ${detected}, as declared`);
  } else if (special !== undefined) {
    if (!special.accept) return decide('reject', special.reason);
    formatDecision = decide('accept', special.reason);
  } else if (declared === fallback) {
    if (qemuWouldProbe(detectedModule, info.details)) {
      return decide('reject', `declared ${fallback}, but the content is ${withArticle(detected)} image that qemu would open as ${detected} (format confusion: CVE-2024-40767, CVE-2024-44082)`);
    }
    formatDecision = decide('accept-with-warning', `declared ${fallback}, but the content is ${withArticle(detected)} image; qemu reads it as ${fallback}`);
  } else {
    return decide('reject', `declared ${claimed}, but the content is ${detected}`);
  }

  const failed = failedChecks(info);
  if (failed.length > 0) return decide('reject', `the image failed safety checks: ${failed.join(', ')}`);
  return formatDecision;
}
