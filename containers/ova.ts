/**
 * OVA: a tar archive holding an OVF descriptor first, then (optionally) its manifest and
 * certificate, then the files the descriptor references: the appliance's disks (DSP0243
 * 2.1, "OVF Packages": the descriptor is the first member of an OVA).
 *
 * Every disk the descriptor lists is introspected as its member passes (a disk stored
 * gzip-compressed, `ovf:compression="gzip"`, is seen through by the gzip container), so an
 * OVA is read once, in order; `info` describes the first disk of `DiskSection`, and with
 * more than one, `info.disks` lists them all in that order. The descriptor's facts are in
 * `info.ovf`.
 *
 * Glance's `ovf_process` (the legacy import step) reads only `CIM_ProcessorAllocationSettingData`
 * from the descriptor, refuses more than one disk and extracts the whole archive to disk
 * first; this module reads the whole descriptor, every disk, and extracts nothing.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `member` | the member holding the first disk |
 * | `descriptor`, `manifest`, `certificate` | the member names (the last two when present) |
 * | `diskMembers` | every disk's member, in `DiskSection` order (`undefined` where missing) |
 * | `entries` | the members read, in order (at most 1000): every member, or up to the last disk when `allMembersRead` is false |
 * | `allMembersRead` | whether the walk went to the end of the archive (it stops after the last disk) |
 * | `hazards` | what the descriptor's safety checks judge (DOCTYPE, entities, unsafe or missing hrefs) |
 * | `manifestEntries`, `manifestProblems` | the manifest's digests and malformed lines |
 *
 * @module
 */
import type { ContainerModule, InnerImage } from '../src/container-module.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { fail, pass, type SafetyCheck } from '../src/safety.js';
import { type ArchiveEntry, MAX_LISTED_ENTRIES, memberPathCheck, memberReader, plainName } from './shared/members.js';
import { type OvaManifestEntry, OVA_MAX_MANIFEST_BYTES, ovaCompanions, parseOvaManifest } from './shared/ova-manifest.js';
import { OVF_MAX_DESCRIPTOR_BYTES, type OvfHazards, type OvfInfo, parseOvfDescriptor } from './shared/ovf.js';
import { loadXmlTokenizer } from './shared/xml-tree.js';
import { TAR_BLOCK_SIZE, detectTar, parseTarHeader, walkTar } from './shared/tar.js';

export type { OvfInfo } from './shared/ovf.js';

/** What the OVA layer knows. */
export interface OvaLayer {
  member?: string;
  descriptor: string;
  manifest?: string;
  certificate?: string;
  diskMembers: Array<string | undefined>;
  entries: ArchiveEntry[];
  /** True when every member was read (the walk stops after the last disk otherwise). */
  allMembersRead: boolean;
  hazards: OvfHazards;
  manifestEntries: OvaManifestEntry[];
  manifestProblems: Array<{ line: number; problem: string }>;
}

/** The fields an OVA adds to the result: the descriptor's facts. */
export interface OvaExtra {
  ovf?: OvfInfo;
}

/** An OVA's first header: a tar header whose member is an OVF descriptor. */
async function descriptorFirst(reader: ByteReader): Promise<boolean> {
  const head = await reader.readAvailable(0, TAR_BLOCK_SIZE, 'tar header');
  if (!detectTar(head)) return false;
  const header = parseTarHeader(head);
  // A pax or GNU long-name header may come first: the member's name is then in the next block.
  if (header.typeFlag === 'x' || header.typeFlag === 'L') return true;
  return /\.ovf$/i.test(header.name);
}

/** `ovf_doctype`: a DOCTYPE with entities is the billion-laughs and external-entity (XXE) attack on whoever parses the descriptor. */
const doctypeCheck: SafetyCheck<OvaLayer, 'ovf_doctype'> = {
  name: 'ovf_doctype',
  description: 'an OVF descriptor with a DOCTYPE or entity declarations (billion laughs, external entities): refused without expanding',
  run({ hazards }) {
    if (!hazards.doctype) return pass();
    const what = [hazards.entityDeclarations ? 'entity declarations' : '', hazards.externalReferences ? 'external references' : ''].filter(Boolean).join(' and ');
    return fail(`the descriptor has a DOCTYPE${what === '' ? '' : ` with ${what}`}; it was not read further`);
  },
};

/** `ovf_href`: a file reference outside the package makes an importer fetch a URL or read a host path. */
const hrefCheck: SafetyCheck<OvaLayer, 'ovf_href'> = {
  name: 'ovf_href',
  description: 'an OVF file reference that is a URL, an absolute path or climbs out with ..',
  run({ hazards }) {
    const [first] = hazards.unsafeHrefs;
    if (first === undefined) return pass();
    return fail(`file ${first.fileId} refers to ${JSON.stringify(first.href)} (${first.problems.join(', ')})${hazards.unsafeHrefs.length > 1 ? ` and ${hazards.unsafeHrefs.length - 1} more` : ''}`);
  },
};

/** `ovf_missing_file`: the descriptor references a file the package does not hold. */
const missingFileCheck: SafetyCheck<OvaLayer, 'ovf_missing_file'> = {
  name: 'ovf_missing_file',
  description: 'the OVF descriptor references a file the OVA does not contain',
  run({ hazards }) {
    if (hazards.missingFiles.length === 0) return pass();
    return fail(`not in the archive: ${hazards.missingFiles.map((name) => JSON.stringify(name)).join(', ')}`);
  },
};

/** `manifest`: the manifest is malformed or lists files the package does not hold. */
const manifestCheck: SafetyCheck<OvaLayer, 'manifest'> = {
  name: 'manifest',
  description: 'an OVA manifest that is malformed or disagrees with the members',
  run(layer) {
    if (layer.manifest === undefined) return pass('no manifest');
    const [problem] = layer.manifestProblems;
    if (problem !== undefined) return fail(`line ${problem.line}: ${problem.problem}`);
    const names = new Set(layer.entries.map((entry) => plainName(entry.name)));
    const absent = layer.manifestEntries.filter((entry) => !names.has(plainName(entry.file)));
    if (absent.length > 0 && layer.allMembersRead) return fail(`the manifest lists files not in the archive: ${absent.map((entry) => JSON.stringify(entry.file)).join(', ')}`);
    const unlisted = layer.diskMembers.filter((member): member is string => member !== undefined && !layer.manifestEntries.some((entry) => plainName(entry.file) === member));
    if (unlisted.length > 0) return fail(`the manifest has no digest for ${unlisted.map((name) => JSON.stringify(name)).join(', ')}`);
    return pass(`${layer.manifestEntries.length} digest${layer.manifestEntries.length === 1 ? '' : 's'} listed for members present (digests are not verified: the disks were not read whole)`);
  },
};

/** The OVA container module. */
export const ova: ContainerModule<'ova', OvaLayer, 'ovf_doctype' | 'ovf_href' | 'ovf_missing_file' | 'manifest' | 'member_path'> = {
  name: 'ova',
  title: 'Open Virtualization Appliance (OVA)',
  signatures: [{ offset: 257, bytes: 'ustar' }],
  check: descriptorFirst,
  glance: { containerFormat: 'ova' },
  checks: [doctypeCheck, hrefCheck, missingFileCheck, manifestCheck, memberPathCheck],
  summarize: (layer) => [
    ['member', layer.member],
    ['descriptor', layer.descriptor],
    ['manifest', layer.manifest],
    ['disks', layer.diskMembers.length],
  ],
  async open(reader, context) {
    const entries: ArchiveEntry[] = [];
    const memberNames: string[] = [];
    let descriptor: { name: string; bytes: Uint8Array } | undefined;
    let ovf: OvfInfo | undefined;
    let hazards: OvfHazards | undefined;
    let diskHrefs: Array<string | undefined> = [];
    const images: Array<InnerImage | undefined> = [];
    let stoppedEarly = false;
    let manifestEntries: OvaManifestEntry[] = [];
    let manifestProblems: Array<{ line: number; problem: string }> = [];
    for await (const entry of walkTar(reader)) {
      if (entries.length < MAX_LISTED_ENTRIES) entries.push({ name: entry.name, type: entry.type, size: entry.size });
      memberNames.push(entry.name);
      if (descriptor === undefined) {
        if (!/\.ovf$/i.test(entry.name) || entry.type !== 'file') {
          throw fieldError('CORRUPT', 'ova', `the first member is ${JSON.stringify(entry.name)}, not an OVF descriptor`, entry.headerOffset);
        }
        if (entry.size > OVF_MAX_DESCRIPTOR_BYTES) throw fieldError('LIMIT_EXCEEDED', 'ovf descriptor', `${entry.size} bytes is above the ${OVF_MAX_DESCRIPTOR_BYTES}-byte cap`, entry.dataOffset);
        const bytes = await reader.read(entry.dataOffset, entry.size, 'ovf descriptor');
        descriptor = { name: entry.name, bytes };
        await loadXmlTokenizer();
        const parsed = parseOvfDescriptor(bytes);
        ovf = parsed.ovf;
        hazards = parsed.hazards;
        diskHrefs = (ovf?.disks ?? []).map((disk) => (disk.href === undefined ? undefined : plainName(disk.href)));
        if (ovf !== undefined) for (const warning of ovf.warnings) context.warn(`ovf: ${warning}`);
        continue;
      }
      if (entry.type !== 'file') continue;
      const name = plainName(entry.name);
      if (/\.mf$/i.test(name) && manifestEntries.length === 0 && manifestProblems.length === 0) {
        if (entry.size > OVA_MAX_MANIFEST_BYTES) throw fieldError('LIMIT_EXCEEDED', 'ova manifest', `${entry.size} bytes is above the ${OVA_MAX_MANIFEST_BYTES}-byte cap`, entry.dataOffset);
        const manifest = parseOvaManifest(await reader.read(entry.dataOffset, entry.size, 'ova manifest'));
        manifestEntries = manifest.entries;
        manifestProblems = manifest.problems;
        continue;
      }
      const diskIndexes = diskHrefs.flatMap((href, index) => (href === name ? [index] : []));
      if (diskIndexes.length === 0) continue;
      const image = await context.introspect(memberReader(context, entry));
      for (const index of diskIndexes) images[index] = image;
      // Every disk seen: stop reading (the rest of the archive is not needed).
      if (diskHrefs.every((href, index) => href === undefined || images[index] !== undefined)) {
        stoppedEarly = true;
        break;
      }
    }
    if (descriptor === undefined || hazards === undefined) throw fieldError('TRUNCATED', 'ova', 'the archive holds no OVF descriptor');
    // Missing references are known once the whole archive was walked; when the walk stopped at
    // the last disk, every disk was there and the members after it were not looked at.
    if (!stoppedEarly) hazards = { ...hazards, missingFiles: parseOvfDescriptor(descriptor.bytes, { availableFiles: memberNames }).hazards.missingFiles };
    const companions = ovaCompanions(descriptor.name, memberNames);
    const found = images.filter((image): image is InnerImage => image !== undefined);
    const diskMembers = diskHrefs.map((href, index) => (images[index] === undefined ? undefined : href));
    for (const [index, disk] of (ovf?.disks ?? []).entries()) {
      const image = images[index];
      if (image !== undefined && disk.capacityBytes !== undefined && disk.capacityBytes !== image.virtualSize) {
        context.warn(`ovf: disk ${disk.diskId} declares a capacity of ${disk.capacityBytes} bytes, its image holds ${image.virtualSize}`);
      }
    }
    const layer: OvaLayer = {
      descriptor: descriptor.name,
      diskMembers,
      entries,
      allMembersRead: !stoppedEarly,
      hazards,
      manifestEntries,
      manifestProblems,
    };
    const firstDisk = diskMembers.find((member) => member !== undefined);
    if (firstDisk !== undefined) layer.member = firstDisk;
    if (companions.manifest !== undefined) layer.manifest = companions.manifest;
    if (companions.certificate !== undefined) layer.certificate = companions.certificate;
    const extra: OvaExtra = {};
    if (ovf !== undefined) extra.ovf = ovf;
    return { layer, images: found, extra: extra as Record<string, unknown> };
  },
};
