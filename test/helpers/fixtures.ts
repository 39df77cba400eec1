/**
 * Test images: the committed fixtures (made by scripts/make-fixtures.sh, with qemu-img's
 * recorded answer beside each) and the real-world images in ../shared/real-world.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesRoot = join(projectRoot, 'test', 'fixtures');

/** Bytes of a file, gunzipped if its name ends in `.gz`. */
export function loadBytes(path: string): Uint8Array {
  const data = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(data) : data;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A committed fixture with qemu-img's recorded JSON (`{}` when qemu-img could not open it). */
export interface Fixture {
  name: string;
  path: string;
  bytes: () => Uint8Array;
  qemu: Record<string, unknown>;
  /** Another tool's output recorded beside the fixture (`gpt.img.sfdisk.json` is suffix `sfdisk.json`), if there is one. */
  sidecar: (suffix: string) => string | undefined;
}

/** Every fixture under test/fixtures/<directory>. */
export function fixtures(directory: string): Fixture[] {
  const folder = join(fixturesRoot, directory);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.gz'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -3);
      const path = join(folder, file);
      const qemuPath = join(folder, `${name}.qemu.json`);
      return {
        name,
        path,
        bytes: () => loadBytes(path),
        qemu: existsSync(qemuPath) ? (JSON.parse(readFileSync(qemuPath, 'utf8')) as Record<string, unknown>) : {},
        sidecar: (suffix: string) => {
          const sidecarPath = join(folder, `${name}.${suffix}`);
          return existsSync(sidecarPath) ? readFileSync(sidecarPath, 'utf8') : undefined;
        },
      };
    });
}

/** One committed fixture by name, e.g. `fixture('raw', 'gpt.img')`. */
export function fixture(directory: string, name: string): Fixture {
  const found = fixtures(directory).find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no fixture ${directory}/${name}`);
  return found;
}

/** A fresh copy of one committed fixture's bytes (tests may change them), e.g. `fixtureBytes('vmdk', 'stream.vmdk')`. */
export function fixtureBytes(directory: string, name: string): Uint8Array {
  const path = join(fixturesRoot, directory, `${name}.gz`);
  if (!existsSync(path)) throw new Error(`no fixture ${directory}/${name}`);
  return loadBytes(path);
}

/**
 * Where the real-world images are: $IMAGE_INTROSPECT_REAL_WORLD, else ../shared/real-world
 * beside the project. `undefined` when neither exists (tests then skip and say why).
 */
export function realWorldRoot(): string | undefined {
  const candidates = [process.env.IMAGE_INTROSPECT_REAL_WORLD, resolve(projectRoot, '../shared/real-world'), '/work/shared/real-world'];
  return candidates.find((candidate): candidate is string => candidate !== undefined && existsSync(join(candidate, 'MANIFEST.md')));
}

export const realWorldMissing =
  'the real-world images are not here (looked for ../shared/real-world beside the project and $IMAGE_INTROSPECT_REAL_WORLD)';

/** One row of the real-world manifest. */
export interface RealWorldImage {
  /** Path relative to the real-world folder, e.g. `vmdk/mdx1__1mb.vmdk`. */
  file: string;
  /** Absolute path. */
  path: string;
  /** What the manifest says qemu-img info returned, or the error it printed. */
  qemu: { json: Record<string, unknown> } | { error: string };
  /** The manifest's "Format" column. */
  description: string;
}

/** The manifest's rows (whole images and fragments alike). */
export function realWorldImages(): RealWorldImage[] {
  const root = realWorldRoot();
  if (root === undefined) return [];
  const manifest = readFileSync(join(root, 'MANIFEST.md'), 'utf8');
  const images: RealWorldImage[] = [];
  let folder = '';
  for (const line of manifest.split('\n')) {
    const heading = /^## ([a-z0-9-]+)\//.exec(line);
    if (heading) {
      folder = heading[1] as string;
      continue;
    }
    const row = /^\| `([^`]+)` \|/.exec(line);
    if (!row || folder === '') continue;
    const cells = line.split(' | ');
    const last = cells[cells.length - 1] as string;
    const description = cells[2] ?? '';
    const json = /`(\{.*\})(?:\s+\(stderr:[^`]*\))?`/.exec(last);
    const error = /`ERROR: ([^`]*)`/.exec(last);
    const qemu = json ? { json: JSON.parse(json[1] as string) as Record<string, unknown> } : { error: error?.[1] ?? last };
    const file = `${folder}/${row[1]}`;
    images.push({ file, path: join(root, file), qemu, description });
  }
  return images;
}
