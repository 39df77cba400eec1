/**
 * The `openstack image create` command line for an image, ready to paste into a POSIX
 * shell: `--disk-format`, `--container-format`, `--min-disk`, a `--property k=v` for every
 * other property, `--file`, the name; every word quoted where the shell would read it
 * otherwise.
 *
 * @module
 */
import type { GlanceProperties } from '../src/index.js';

/** Characters a POSIX shell takes literally in an unquoted word. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `word` as one POSIX shell word: as it is when safe, else in single quotes (a quote inside as `'\''`). */
export function shellQuote(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Properties that have their own option in `openstack image create`. */
const OPTIONS: Readonly<Record<string, string>> = {
  disk_format: '--disk-format',
  container_format: '--container-format',
  min_disk: '--min-disk',
  min_ram: '--min-ram',
};

/**
 * The command that creates the image with these properties and uploads `fileName`, one
 * option per line (ending in ` \`), so that it reads well and pastes as one command.
 */
export function openstackImageCreate(properties: GlanceProperties, fileName: string, imageName: string): string {
  const words: string[][] = [['openstack', 'image', 'create']];
  for (const key of Object.keys(OPTIONS)) {
    const value = properties[key];
    if (value !== undefined) words.push([OPTIONS[key] as string, shellQuote(String(value))]);
  }
  for (const [key, value] of Object.entries(properties)) {
    if (key in OPTIONS || value === undefined) continue;
    words.push(['--property', shellQuote(`${key}=${String(value)}`)]);
  }
  // A file named like an option (`-x.img`) must not be read as one.
  words.push(['--file', shellQuote(fileName.startsWith('-') ? `./${fileName}` : fileName)]);
  // And a name like an option goes after `--`, where argparse reads only positionals.
  words.push(imageName.startsWith('-') ? ['--', shellQuote(imageName)] : [shellQuote(imageName)]);
  return words.map((line) => line.join(' ')).join(' \\\n  ');
}

/** Suffixes an image's file name carries that its Glance name does not need. */
const IMAGE_SUFFIX = /\.(?:xz|gz|zst|bz2|zip|tar|tgz|ova|box|qcow2?|img|raw|vmdk|vhdx?|vdi|iso|hds|dmg)$/i;

/** `debian-12-genericcloud-amd64.qcow2.xz` → `debian-12-genericcloud-amd64`. */
export function defaultImageName(fileName: string): string {
  let name = fileName;
  for (let stripped = name.replace(IMAGE_SUFFIX, ''); stripped !== name && stripped !== ''; stripped = name.replace(IMAGE_SUFFIX, '')) name = stripped;
  return name;
}
