/**
 * The references the Glance tests compare with, all read or run at test time: Glance's own
 * metadef JSON files and format names (python3-glance, glance-common), Glance's format
 * inspector, libosinfo (`osinfo-detect`, `osinfo-query`, the osinfo-db XML files), and the
 * image makers (qemu-img, xorriso, sgdisk, sfdisk).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GLANCE_METADEFS_DIR, SYSTEM_PYTHON, glanceMissing } from '../helpers/glance.js';

/** Runs a tool; throws with its stderr when it fails. */
export function run(command: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd, input: options.input });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.error ?? ''}`);
  return result.stdout;
}

/** True when `command` runs. */
export function hasTool(command: string, args = ['--version']): boolean {
  return spawnSync(command, args, { encoding: 'utf8' }).status === 0;
}

// ---------------------------------------------------------------------------------------
// Glance

/** One property a metadef declares for images. */
export interface MetadefProperty {
  type: string;
  enum?: Set<string>;
  namespace: string;
}

/**
 * Every image property Glance's metadefs declare (the namespaces associated with
 * `OS::Glance::Image`, their prefix applied), by name. The CIM namespaces' prefix is
 * `CIM_PASD_`; Glance's `ovf_process` writes it lower case, so both spellings are listed.
 */
export function glanceImageMetadefs(): Map<string, MetadefProperty> {
  const properties = new Map<string, MetadefProperty>();
  for (const file of readdirSync(GLANCE_METADEFS_DIR).filter((name) => name.endsWith('.json'))) {
    const namespace = JSON.parse(readFileSync(join(GLANCE_METADEFS_DIR, file), 'utf8')) as {
      namespace: string;
      resource_type_associations?: Array<{ name: string; prefix?: string }>;
      properties?: Record<string, { type: string; enum?: string[]; items?: { enum?: string[] } }>;
      objects?: Array<{ properties?: Record<string, { type: string; enum?: string[]; items?: { enum?: string[] } }> }>;
    };
    const association = namespace.resource_type_associations?.find((entry) => entry.name === 'OS::Glance::Image');
    // Namespaces with no association (the common image properties) are about images too.
    if (namespace.resource_type_associations?.length && association === undefined) continue;
    const prefix = association?.prefix ?? '';
    const all = { ...namespace.properties, ...Object.assign({}, ...(namespace.objects ?? []).map((object) => object.properties ?? {})) } as Record<
      string,
      { type: string; enum?: string[]; items?: { enum?: string[] } }
    >;
    for (const [name, property] of Object.entries(all)) {
      const values = property.enum ?? property.items?.enum;
      const entry: MetadefProperty = { type: property.type, namespace: namespace.namespace, ...(values && { enum: new Set(values) }) };
      properties.set(`${prefix}${name}`, entry);
      if (prefix !== prefix.toLowerCase()) properties.set(`${prefix.toLowerCase()}${name}`, entry);
    }
  }
  return properties;
}

/** Glance's default `disk_formats` and `container_formats`, from its own config module. */
export function glanceFormatOptions(): { disk_formats: string[]; container_formats: string[] } {
  const output = run(SYSTEM_PYTHON, [
    '-c',
    "import json\nfrom glance.common.config import image_format_opts\nprint(json.dumps({o.name: o.default for o in image_format_opts if o.name in ('disk_formats', 'container_formats')}))",
  ]);
  return JSON.parse(output) as { disk_formats: string[]; container_formats: string[] };
}

/** What Glance's own format inspector (`glance.common.format_inspector.detect_file_format`) calls each file. */
export function glanceInspectorFormats(paths: string[]): Record<string, string> {
  const output = run(SYSTEM_PYTHON, [
    '-c',
    'import sys, json\nfrom glance.common import format_inspector as f\nprint(json.dumps({p: str(f.detect_file_format(p)) for p in sys.argv[1:]}))',
    ...paths,
  ]);
  return JSON.parse(output.trim().split('\n').pop() as string) as Record<string, string>;
}

export { glanceMissing };

// ---------------------------------------------------------------------------------------
// libosinfo

export const osinfoMissing = hasTool('osinfo-detect', ['--help']) && hasTool('osinfo-query', ['--help'])
  ? undefined
  : 'osinfo-detect/osinfo-query are not installed (libosinfo-bin; .ci/run installs it)';

/** An OS as `osinfo-query os` lists it. */
export interface OsinfoOs {
  shortId: string;
  name: string;
  version: string;
  family: string;
  distro: string;
}

let osinfoTable: OsinfoOs[] | undefined;

/** Every OS in the installed osinfo-db. */
export function osinfoOses(): OsinfoOs[] {
  osinfoTable ??= run('osinfo-query', ['os', '--fields=short-id,name,version,family,distro'])
    .split('\n')
    .slice(2)
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .filter((cells) => cells.length === 5 && cells[0] !== '')
    .map(([shortId, name, version, family, distro]) => ({ shortId, name, version, family, distro }) as OsinfoOs);
  return osinfoTable;
}

/** What `osinfo-detect -a` says an ISO installs: the OSes or variants (by name, once each) and their architectures. */
export function osinfoDetect(path: string): Array<{ name: string; arch: string }> {
  const seen = new Map<string, { name: string; arch: string }>();
  for (const match of run('osinfo-detect', ['-a', path]).matchAll(/for OS '(.+) \(([^)]+)\)'/g)) {
    const name = match[1] as string;
    seen.set(`${name}|${match[2]}`, { name, arch: match[2] as string });
  }
  return [...seen.values()];
}

let osinfoNames: Map<string, string[]> | undefined;

/**
 * The short ids of the OSes that carry `name` in osinfo-db, as the OS's name or one of its
 * variants' (`osinfo-detect` prints a variant's name, e.g. "Fedora Server 37" for fedora37).
 */
export function osinfoShortIdsNamed(name: string): string[] {
  if (osinfoNames === undefined) {
    const names = new Map<string, string[]>();
    for (const file of xmlFiles('/usr/share/osinfo/os')) {
      const text = readFileSync(file, 'utf8');
      const shortId = /<short-id>([^<]+)<\/short-id>/.exec(text)?.[1];
      if (shortId === undefined) continue;
      const own = /<name>([^<]+)<\/name>/.exec(text)?.[1];
      const variants = [...text.matchAll(/<variant id="[^"]*">\s*<name>([^<]+)<\/name>/g)].map((match) => match[1] as string);
      for (const candidate of new Set([own, ...variants])) {
        if (candidate !== undefined) names.set(candidate, [...(names.get(candidate) ?? []), shortId]);
      }
    }
    osinfoNames = names;
  }
  return osinfoNames.get(name) ?? [];
}

function xmlFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? xmlFiles(join(folder, entry.name)) : entry.name.endsWith('.xml') ? [join(folder, entry.name)] : [],
  );
}

/** Every architecture name osinfo-db uses (`arch="..."` on media, trees and resources). */
export function osinfoArchitectures(): Set<string> {
  const names = new Set<string>();
  for (const file of xmlFiles('/usr/share/osinfo/os')) {
    for (const match of readFileSync(file, 'utf8').matchAll(/arch="([^"]+)"/g)) names.add(match[1] as string);
  }
  names.delete('all');
  return names;
}

// ---------------------------------------------------------------------------------------
// Image makers

export const xorrisoMissing = hasTool('xorriso', ['-version']) ? undefined : 'xorriso is not installed';

/** An ISO made by xorriso with this volume id (and publisher), bootable by BIOS, EFI, both or neither. */
export function makeIso(dir: string, name: string, options: { volumeId: string; publisher?: string; bios?: boolean; efi?: boolean }): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(join(root, 'boot'), { recursive: true });
  writeFileSync(join(root, 'boot', 'bios.bin'), new Uint8Array(2048));
  writeFileSync(join(root, 'boot', 'efi.img'), new Uint8Array(64 * 1024));
  writeFileSync(join(root, 'README'), 'test medium\n');
  const path = join(dir, `${name}.iso`);
  const args = ['-as', 'mkisofs', '-V', options.volumeId, ...(options.publisher ? ['-publisher', options.publisher] : [])];
  if (options.bios) args.push('-b', 'boot/bios.bin', '-no-emul-boot', '-boot-load-size', '4');
  if (options.efi) args.push(...(options.bios ? ['-eltorito-alt-boot'] : []), '-e', 'boot/efi.img', '-no-emul-boot');
  run('xorriso', [...args, '-o', path, root]);
  return path;
}

/** The El Torito platforms xorriso reports for an ISO (`BIOS`, `UEFI`). */
export function elToritoPlatforms(path: string): string[] {
  const report = spawnSync('xorriso', ['-indev', path, '-report_el_torito', 'plain'], { encoding: 'utf8' });
  return [...`${report.stdout}`.matchAll(/El Torito boot img :\s+\d+\s+(\S+)/g)].map((match) => match[1] as string);
}
