/**
 * The CLI's text summary against `qemu-img info`'s text, run at test time: every label
 * and value qemu prints (nested blocks by their path, the snapshot table line by line)
 * must be in ours, for every committed fixture qemu opens as the format we detect; and
 * sizes print exactly as qemu prints them, over a table of sizes made with qemu-img.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { humanSize } from '../src/summary.js';
import { fixtures, fixturesRoot, projectRoot } from './helpers/fixtures.js';
import { ourFormatName } from './helpers/qemu-correspondence.js';
import { hasQemuImg, qemuMissing } from './helpers/qemu.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-summary-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// Snapshot dates are local time for both tools: make it the same zone.
const env = { ...process.env, TZ: 'UTC' };

/** Where the module reports the size the header declares and qemu rounds it to whole sectors (the format tests check both values). */
const declaredSize = (qemuLine: string) => ({ reason: 'the declared size, exactly; qemu counts whole sectors', missing: [qemuLine] });

/**
 * What qemu-img prints that we do not, each with the reason; the test fails if one of
 * these starts to match too (then remove it here).
 */
const knownGaps: Record<string, { reason: string; missing: string[] }> = {
  'bochs/odd-size.img': declaredSize('virtual size = 976 KiB (999936 bytes)'),
  'qcow/size-unaligned.qcow': declaredSize('virtual size = 976 KiB (999936 bytes)'),
  'qcow2/size-unaligned.qcow2': declaredSize('virtual size = 976 KiB (999936 bytes)'),
  'raw/odd-size.img': declaredSize('virtual size = 1 KiB (1024 bytes)'),
  'vdi/odd-declared.vdi': declaredSize('virtual size = 977 KiB (1000448 bytes)'),
  'dmg/zero-sector-count.dmg': {
    reason: "the trailer says 0 sectors; the module takes the size from the block tables, with a warning (qemu reports 0)",
    missing: ['virtual size = 0 B (0 bytes)'],
  },
  'qcow2/luks.qcow2': {
    reason: 'the qcow2 module reports where the LUKS header is, but does not parse it (qemu prints the header inside "encrypt")',
    missing: [
      'Format specific information / encrypt / ivgen alg = plain64',
      'Format specific information / encrypt / hash alg = sha256',
      'Format specific information / encrypt / cipher alg = aes-256',
      'Format specific information / encrypt / uuid = bcfe3870-d788-4690-b13c-7e2852454dd6',
      'Format specific information / encrypt / cipher mode = xts',
      'Format specific information / encrypt / slots:',
      ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((slot) => [
        `Format specific information / encrypt / slots / [${slot}]:`,
        `Format specific information / encrypt / slots / [${slot}] / active = ${slot === 0}`,
        `Format specific information / encrypt / slots / [${slot}] / key offset = ${[4096, 262144, 520192, 778240, 1036288, 1294336, 1552384, 1810432][slot]}`,
        ...(slot === 0 ? ['Format specific information / encrypt / slots / [0] / iters = 449492', 'Format specific information / encrypt / slots / [0] / stripes = 4000'] : []),
      ]),
      'Format specific information / encrypt / payload offset = 2068480',
      'Format specific information / encrypt / master key iters = 110625',
    ],
  },
};

/**
 * The lines of a qemu-img-style text block as comparable entries: `path / label = value`
 * for a field (the path is the headings it is nested in, four spaces a level), `path:`
 * for a heading, and the lines of the snapshot table as they are. qemu's `disk size` is
 * the host file's allocation, which a reader of the bytes cannot know: left out.
 */
export function entriesOf(text: string): string[] {
  const entries: string[] = [];
  const headings: string[] = [];
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const field = /^( *)([^:]+?):(?: (.*))?$/.exec(line);
    if (inTable && (field === null || /^\d/.test(line) || line.startsWith('ID '))) {
      entries.push(`table: ${line}`);
      continue;
    }
    inTable = false;
    if (field === null) {
      entries.push(`line: ${line}`);
      continue;
    }
    const level = Math.floor((field[1] as string).length / 4);
    const label = field[2] as string;
    headings.length = level;
    const path = [...headings, label].join(' / ');
    const value = field[3];
    if (value === undefined || value === '') {
      headings[level] = label;
      entries.push(`${path}:`);
      if (label === 'Snapshot list') inTable = true;
    } else if (label !== 'disk size') {
      entries.push(`${path} = ${value.replace(/ \(actual path: .*\)$/, '')}`);
    }
  }
  return entries;
}

/** `file format: vpc` is our vhd. */
function qemuEntries(text: string): string[] {
  return entriesOf(text).map((entry) => (entry.startsWith('file format = ') ? `file format = ${ourFormatName(entry.slice(14))}` : entry));
}

function runCli(args: string[], cwd: string): string {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stdout;
}

/** Our text blocks, by image name (blocks are separated by one empty line). */
function ourBlocks(stdout: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const block of stdout.split(/\n\n(?=image: )/)) {
    const name = /^image: (.*)$/m.exec(block)?.[1];
    if (name !== undefined) blocks.set(name, block);
  }
  return blocks;
}

describe.skipIf(!hasQemuImg)(`the text summary says what qemu-img info says${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  it('for every committed fixture qemu opens as the same format', () => {
    const names: string[] = [];
    for (const directory of readdirSync(fixturesRoot)) {
      const folder = join(work, directory);
      mkdirSync(folder, { recursive: true });
      for (const fixture of fixtures(directory)) {
        writeFileSync(join(folder, fixture.name), fixture.bytes());
        names.push(`${directory}/${fixture.name}`);
      }
    }
    // Each tool is run where the image is, with its bare name, so file names compare equal.
    const ours = new Map<string, string>();
    for (const directory of readdirSync(work)) {
      const folder = join(work, directory);
      for (const [name, block] of ourBlocks(runCli(['-j', '1', ...readdirSync(folder)], folder))) ours.set(`${directory}/${name}`, block);
    }

    const compared: string[] = [];
    const problems: Record<string, string[]> = {};
    for (const name of names) {
      const [directory, file] = name.split('/') as [string, string];
      const qemu = spawnSync('qemu-img', ['info', file], { cwd: join(work, directory), env, encoding: 'utf8' });
      const block = ours.get(name);
      if (qemu.status !== 0 || block === undefined) continue; // qemu refuses it, or we do: other tests compare those
      const theirs = qemuEntries(qemu.stdout);
      const mine = new Set(entriesOf(block));
      if (!mine.has(theirs.find((entry) => entry.startsWith('file format = ')) ?? '')) continue; // a different format
      compared.push(name);
      const missing = theirs.filter((entry) => !mine.has(entry));
      if (JSON.stringify(missing.sort()) !== JSON.stringify([...(knownGaps[name]?.missing ?? [])].sort())) problems[name] = missing;
    }
    expect(problems).toEqual({});
    // Not vacuous: most fixtures are compared, every format qemu has is among them.
    expect(compared.length).toBeGreaterThan(80);
    const formats = new Set(compared.map((name) => name.split('/')[0]));
    for (const format of ['qcow2', 'qcow', 'qed', 'vmdk', 'vhd', 'vhdx', 'vdi', 'luks', 'parallels', 'bochs', 'cloop', 'dmg', 'raw']) {
      expect(formats).toContain(format);
    }
    for (const name of Object.keys(knownGaps)) expect(compared).toContain(name);
  });

  it('prints sizes as qemu-img does, over a table of sizes made with qemu-img create', () => {
    const KiB = 1024;
    const MiB = 1024 * KiB;
    const GiB = 1024 * MiB;
    const sizes = [
      0, 512, 1024, 1536, 999 * KiB, 1000 * 512, 1023 * KiB, 1023488 /* qemu: 1e+03 KiB */, 1024000, MiB, 1179648 /* 1.125 MiB: a tie, to even */,
      1.5 * MiB, 10 * MiB + 512, 100 * MiB, 204800, 727040, 999 * MiB, GiB - 512, GiB, 1.5 * GiB, 200 * GiB, 1023 * GiB, 1024 * GiB, 1.75 * 1024 * GiB, 2 ** 50,
    ];
    const folder = join(work, 'sizes');
    mkdirSync(folder, { recursive: true });
    const names = sizes.map((size) => {
      const name = `size-${size}.qcow2`;
      const created = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', name, String(size)], { cwd: folder, encoding: 'utf8' });
      expect(created.status, created.stderr).toBe(0);
      return name;
    });
    const ours = ourBlocks(runCli(['-j', '1', ...names], folder));
    for (const name of names) {
      const qemu = spawnSync('qemu-img', ['info', name], { cwd: folder, encoding: 'utf8' });
      const line = /^virtual size: .*$/m.exec(qemu.stdout)?.[0];
      const bytes = Number(/\((\d+) bytes\)/.exec(line ?? '')?.[1]);
      expect(line).toBeDefined();
      expect(humanSize(bytes)).toBe(/^virtual size: (.*) \(/.exec(line as string)?.[1]);
      expect(ours.get(name)).toContain(`\n${line}\n`);
    }
  });
});

describe('the text summary, beyond qemu', () => {
  it('lists an MBR by partition number, logical partitions included (not "partitions: 3")', () => {
    const sfdisk = spawnSync('sfdisk', ['--version'], { encoding: 'utf8' });
    if (sfdisk.status !== 0) {
      console.warn('sfdisk (fdisk package) is not installed: this test is skipped');
      return;
    }
    const image = join(work, 'mbr-1-2-3ext-5.img');
    writeFileSync(image, new Uint8Array(0));
    spawnSync('truncate', ['-s', '16M', image]);
    const made = spawnSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', image], {
      input: 'label: dos\nstart=2048, size=2048, type=83\nstart=4096, size=2048, type=83\nstart=6144, size=20480, type=5\nstart=8192, size=2048, type=83\n',
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const listed = spawnSync('sfdisk', ['--json', image], { encoding: 'utf8' });
    const devices = (JSON.parse(listed.stdout) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number }> } }).partitiontable.partitions;
    const text = runCli([image], work);
    expect(text).not.toMatch(/^partitions: /m);
    const numbers = [...text.matchAll(/^partition (\d+): .*, (\S+ \S*B) at byte (\d+)$/gm)].map((match) => [Number(match[1]), Number(match[3])]);
    // sfdisk's numbering and start sectors, as Linux would name the devices.
    expect(numbers).toEqual(devices.map((device) => [Number(/(\d+)$/.exec(device.node)?.[1]), device.start * 512]));
    expect(numbers.map(([number]) => number)).toEqual([1, 2, 3, 5]);
  });
});
