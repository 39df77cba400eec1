/**
 * The tar walker against GNU tar: archives made at test time in every format GNU tar
 * writes, listed by `tar -tv --full-time`, and the members' bytes read back at
 * `dataOffset` compared with the files on disk.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  TAR_MAX_NAME_BYTES,
  type TarEntry,
  detectTar,
  isoTime,
  parsePaxRecords,
  parseTarHeader,
  tarChecksumValid,
  walkTar,
} from '../../containers/shared/tar.js';
import { rejectionOf } from '../helpers/errors.js';
import { collect, forwardOnlyReader, randomAccessReader } from './readers.js';

const hasTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;
const tarMissing = 'GNU tar is not on the PATH';
const work = mkdtempSync(join(tmpdir(), 'tar-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[], cwd = work): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const MTIME = new Date('2021-02-03T04:05:06.789Z');
const LONG_NAME = `${'long-name-'.repeat(14)}end.txt`; // 147 bytes: past the 100-byte name field
const DEEP = `${'deeper-directory-name/'.repeat(13)}`; // 286 bytes of directories: past ustar's 255
const BIG = new Uint8Array(70_000).map((_, index) => (index * 131 + 7) & 0xff);

/** A tree with every kind of member; `portable` leaves out what ustar and v7 cannot store. */
function makeTree(root: string, portable: boolean, fifo: boolean): void {
  mkdirSync(join(root, 'd'), { recursive: true });
  writeFileSync(join(root, 'd/plain.txt'), 'hello\n');
  chmodSync(join(root, 'd/plain.txt'), 0o640);
  writeFileSync(join(root, 'd/empty'), '');
  writeFileSync(join(root, 'd/setuid'), '#!/bin/sh\n');
  chmodSync(join(root, 'd/setuid'), 0o4755);
  writeFileSync(join(root, 'd/big.bin'), BIG);
  symlinkSync('plain.txt', join(root, 'd/link'));
  linkSync(join(root, 'd/plain.txt'), join(root, 'd/hard'));
  if (fifo) run('mkfifo', [join(root, 'd/fifo')]);
  if (!portable) {
    writeFileSync(join(root, 'd', LONG_NAME), 'long\n');
    writeFileSync(join(root, 'd/ünïcødé.txt'), 'unicode\n');
    mkdirSync(join(root, 'd', DEEP), { recursive: true });
    writeFileSync(join(root, 'd', DEEP, 'leaf.txt'), 'deep\n');
    symlinkSync(LONG_NAME, join(root, 'd/long-link'));
    // 1 MiB with data at 500,000 and at the end: a sparse file with two regions.
    const sparse = join(root, 'd/sparse.img');
    writeFileSync(sparse, '');
    run('truncate', ['-s', '1M', sparse]);
    run('dd', ['if=/dev/urandom', `of=${sparse}`, 'bs=4096', 'seek=122', 'count=2', 'conv=notrunc'], root);
    run('dd', ['if=/dev/urandom', `of=${sparse}`, 'bs=4096', 'seek=255', 'count=1', 'conv=notrunc'], root);
  }
  for (const path of run('find', ['d'], root).stdout.trim().split('\n')) {
    if (!path.endsWith('link')) utimesSync(join(root, path), MTIME, MTIME);
  }
}

/** One line of `tar -tv --full-time --quoting-style=literal`. */
interface Listed {
  perms: string;
  owner: string;
  group: string;
  size: number;
  time: string;
  name: string;
  target?: string;
}

function listWithTar(archive: string, numeric: boolean): Listed[] {
  const result = run('tar', ['-tv', '--full-time', '--quoting-style=literal', ...(numeric ? ['--numeric-owner'] : []), '-f', archive]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const match = /^(\S{10}) (\S+)\/(\S+)\s+(\d+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) +(.*)$/.exec(line);
      if (match === null) throw new Error(`unexpected tar line: ${line}`);
      const [, perms, owner, group, size, time, rest] = match as unknown as string[];
      const listed: Listed = { perms: perms as string, owner: owner as string, group: group as string, size: Number(size), time: time as string, name: rest as string };
      const symlink = / -> (.*)$/.exec(listed.name);
      const hardlink = / link to (.*)$/.exec(listed.name);
      if (listed.perms.startsWith('l') && symlink) {
        listed.target = symlink[1] as string;
        listed.name = listed.name.slice(0, symlink.index);
      } else if (listed.perms.startsWith('h') && hardlink) {
        listed.target = hardlink[1] as string;
        listed.name = listed.name.slice(0, hardlink.index);
      }
      return listed;
    });
}

const TYPE_CHARS: Record<string, string> = { file: '-', directory: 'd', symlink: 'l', hardlink: 'h', fifo: 'p', 'character-device': 'c', 'block-device': 'b' };

/** `ls -l`-style permissions of an entry, as tar prints them. */
function permissions(entry: TarEntry): string {
  const mode = entry.mode;
  const bit = (mask: number, char: string) => (mode & mask ? char : '-');
  const exec = (mask: number, special: number, set: string, unset: string) => (mode & special ? (mode & mask ? set : unset) : mode & mask ? 'x' : '-');
  return (
    (TYPE_CHARS[entry.type] ?? '?') +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't', 'T')
  );
}

function expectAgreesWithTar(entries: TarEntry[], named: Listed[], numeric: Listed[]): void {
  expect(entries.map((entry) => entry.name)).toEqual(named.map((listed) => listed.name));
  entries.forEach((entry, index) => {
    const listed = named[index] as Listed;
    const ids = numeric[index] as Listed;
    expect(permissions(entry), entry.name).toBe(listed.perms);
    // v7 headers carry no names: tar then prints the numbers.
    expect(entry.uname || String(entry.uid)).toBe(listed.owner);
    expect(entry.gname || String(entry.gid)).toBe(listed.group);
    expect(String(entry.uid)).toBe(ids.owner);
    expect(String(entry.gid)).toBe(ids.group);
    expect(entry.size, entry.name).toBe(listed.size);
    // tar prints local time (TZ=UTC here) with the archive's precision; ours keeps milliseconds.
    expect(entry.mtime?.slice(0, 19).replace('T', ' ')).toBe(listed.time.slice(0, 19));
    if (listed.time.length > 19) expect(entry.mtime?.slice(19, 23)).toBe(listed.time.slice(19, 23));
    if (listed.target !== undefined) expect(entry.linkName).toBe(listed.target);
  });
}

async function expectDataAt(bytes: Uint8Array, entries: TarEntry[], root: string): Promise<void> {
  for (const entry of entries) {
    if (entry.type !== 'file' || entry.typeFlag === '1') continue;
    const onDisk = new Uint8Array(readFileSync(join(root, entry.name)));
    if (entry.sparse === undefined) {
      expect(entry.storedSize).toBe(onDisk.byteLength);
      expect(bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size)).toEqual(onDisk);
      continue;
    }
    // A sparse member stores its regions one after another.
    let stored = entry.dataOffset;
    for (const region of entry.sparse.regions) {
      expect(bytes.subarray(stored, stored + region.length)).toEqual(onDisk.subarray(region.offset, region.offset + region.length));
      stored += region.length;
    }
    expect(stored - entry.dataOffset).toBe(entry.storedSize);
    const covered = entry.sparse.regions.reduce((sum, region) => sum + region.length, 0);
    expect(covered).toBeGreaterThan(0);
    expect(covered).toBeLessThan(entry.size);
  }
}

const FORMATS = [
  { format: 'gnu', portable: false, sparse: true },
  { format: 'oldgnu', portable: false, sparse: true },
  { format: 'posix', portable: false, sparse: true },
  { format: 'ustar', portable: true, sparse: false },
  { format: 'v7', portable: true, sparse: false },
] as const;

describe.skipIf(!hasTar)(`tar archives made by GNU tar, listed by tar -tv${hasTar ? '' : ` (skipped: ${tarMissing})`}`, () => {
  for (const { format, portable, sparse } of FORMATS) {
    describe(`--format=${format}`, () => {
      const root = join(work, format);
      makeTree(root, portable, format !== 'v7');
      const archive = join(work, `${format}.tar`);
      const args = ['-c', `--format=${format}`, '--owner=alice:1234', '--group=staff:5678', ...(sparse ? ['--sparse'] : []), '-f', archive, 'd'];
      const made = run('tar', args, root);
      const bytes = new Uint8Array(readFileSync(archive));

      it('is made by tar', () => {
        expect(made.status, made.stderr).toBe(0);
      });

      it('lists what tar -tv lists, with the same types, modes, owners, sizes, times and targets', async () => {
        const entries = await collect(walkTar(randomAccessReader(bytes)));
        expectAgreesWithTar(entries, listWithTar(archive, false), listWithTar(archive, true));
        if (format === 'posix') expect(entries.every((entry) => entry.format === 'pax')).toBe(true);
        if (format === 'v7') expect(entries.every((entry) => entry.format === 'v7' && entry.uname === '')).toBe(true);
      });

      it('points dataOffset at the member bytes (sparse regions in order)', async () => {
        await expectDataAt(bytes, await collect(walkTar(randomAccessReader(bytes))), root);
      });

      it('reads forward only, giving the same entries as random access', async () => {
        const forward = await collect(walkTar(forwardOnlyReader(bytes)));
        expect(forward).toEqual(await collect(walkTar(randomAccessReader(bytes))));
      });

      it('is detected from its first 512 bytes', () => {
        expect(detectTar(bytes.subarray(0, 512))).toBe(true);
      });
    });
  }
});

describe.skipIf(!hasTar)('tar numbers GNU tar writes in base-256, and pax global headers', () => {
  it('reads a uid above the octal field and an mtime before 1970 (GNU base-256)', async () => {
    const root = join(work, 'base256');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'old'), 'x');
    expect(run('touch', ['-d', '1901-06-07 08:09:10', 'old'], root).status).toBe(0);
    const archive = join(work, 'base256.tar');
    expect(run('tar', ['-c', '--format=gnu', '--owner=big:3000000', '--group=g:4000000', '-f', archive, 'old'], root).status).toBe(0);
    const bytes = new Uint8Array(readFileSync(archive));
    expect(bytes[108]).toBe(0x80); // the uid field really is base-256 ...
    expect(bytes[136]).toBe(0xff); // ... and the mtime a negative one
    const [entry] = await collect(walkTar(randomAccessReader(bytes)));
    const [listed] = listWithTar(archive, true);
    expect(entry?.uid).toBe(3_000_000);
    expect(entry?.gid).toBe(4_000_000);
    expect(listed?.owner).toBe('3000000');
    // The file system may clamp the time (ext4 with 128-byte inodes stops at -2^31); tar's listing is the oracle.
    expect(entry?.mtime?.slice(0, 19).replace('T', ' ')).toBe(listed?.time);
    expect(entry?.mtime?.startsWith('1901-')).toBe(true);
  });

  it('applies a pax global header to every later member, under their own records', async () => {
    const root = join(work, 'global');
    mkdirSync(join(root, 'g'), { recursive: true });
    writeFileSync(join(root, 'g/f'), 'x');
    const archive = join(work, 'global.tar');
    expect(run('tar', ['-c', '--format=posix', '--pax-option=globexthdr.name=GH,uname=bob', '-f', archive, 'g'], root).status).toBe(0);
    const bytes = new Uint8Array(readFileSync(archive));
    expect(bytes[156]).toBe('g'.charCodeAt(0));
    const entries = await collect(walkTar(forwardOnlyReader(bytes)));
    expect(entries.map((entry) => entry.uname)).toEqual(listWithTar(archive, false).map((listed) => listed.owner));
    expect(entries.map((entry) => entry.uname)).toEqual(['bob', 'bob']);
    expect(entries[0]?.headerOffset).toBeGreaterThan(0); // after the global header, which belongs to no member
  });
});

/** A 512-byte header written by hand, the checksum computed over it (or set to `checksum`). */
function header(fields: { name: string; size?: number; type?: string; magic?: 'ustar' | 'gnu' | 'v7'; checksum?: 'unsigned' | 'signed' | 'wrong' }): Uint8Array {
  const block = new Uint8Array(512);
  const put = (offset: number, text: string) => block.set(new TextEncoder().encode(text), offset);
  put(0, fields.name);
  put(100, '0000644\0');
  put(108, '0001750\0');
  put(116, '0001750\0');
  put(124, `${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`);
  put(136, '14000000000\0');
  put(156, fields.type ?? '0');
  if (fields.magic === 'ustar' || fields.magic === undefined) put(257, 'ustar\x0000');
  if (fields.magic === 'gnu') put(257, 'ustar  \0');
  block.fill(0x20, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (const byte of block) {
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 256 : byte;
  }
  const sum = fields.checksum === 'signed' ? signed : fields.checksum === 'wrong' ? unsigned + 1 : unsigned;
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function archiveOf(...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + Math.ceil(part.byteLength / 512) * 512, 0);
  const bytes = new Uint8Array(length + 1024);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += Math.ceil(part.byteLength / 512) * 512;
  }
  return bytes;
}

function tarAccepts(bytes: Uint8Array): { status: number; stdout: string } {
  const path = join(work, `probe-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(path, bytes);
  return run('tar', ['-tvf', path]);
}

describe('tar headers written by hand, checked against GNU tar where it can judge', () => {
  it('accepts a signed checksum (a name byte >= 0x80) as GNU tar does', async () => {
    const bytes = archiveOf(header({ name: 'caf\xe9', checksum: 'signed' }));
    bytes.set([0x63, 0x61, 0x66, 0xe9], 0); // the raw byte 0xe9, not its UTF-8 encoding
    const block = bytes.subarray(0, 512);
    block.fill(0x20, 148, 156);
    let signed = 0;
    for (const byte of block) signed += byte >= 0x80 ? byte - 256 : byte;
    block.set(new TextEncoder().encode(`${signed.toString(8).padStart(6, '0')}\0 `), 148);
    expect(tarChecksumValid(block)).toBe(true);
    const entries = await collect(walkTar(randomAccessReader(bytes)));
    expect(entries).toHaveLength(1);
    if (hasTar) expect(tarAccepts(bytes).status).toBe(0);
  });

  it('rejects a wrong checksum as CORRUPT, where GNU tar fails too', async () => {
    const bytes = archiveOf(header({ name: 'ok', size: 3 }), new TextEncoder().encode('abc'), header({ name: 'bad', checksum: 'wrong' }));
    const error = await rejectionOf(collect(walkTar(randomAccessReader(bytes))));
    expect(error.code).toBe('CORRUPT');
    expect(error.offset).toBe(1024 + 148);
    if (hasTar) expect(tarAccepts(bytes).status).not.toBe(0);
  });

  it('says TRUNCATED when the data ends inside a member or a header, as GNU tar fails; ends cleanly without end blocks', async () => {
    const member = archiveOf(header({ name: 'a', size: 2000 }), new Uint8Array(2000).fill(0x61));
    const exact = member.subarray(0, 512 + 2048);
    for (const [cut, code] of [
      [512 + 1000, 'TRUNCATED'],
      [300, 'TRUNCATED'],
    ] as const) {
      const bytes = member.subarray(0, cut);
      const stream = walkTar(forwardOnlyReader(bytes));
      if (cut > 512) expect((await stream.next()).value).toMatchObject({ name: 'a', size: 2000 });
      expect((await rejectionOf(stream.next())).code).toBe(code);
      if (hasTar) expect(tarAccepts(bytes).status).not.toBe(0);
    }
    expect(await collect(walkTar(forwardOnlyReader(exact)))).toHaveLength(1);
    if (hasTar) expect(tarAccepts(exact).status).toBe(0);
  });

  it('stops at the first zero block, as GNU tar does without --ignore-zeros', async () => {
    const bytes = archiveOf(header({ name: 'one' }), new Uint8Array(512), header({ name: 'two' }));
    expect((await collect(walkTar(randomAccessReader(bytes)))).map((entry) => entry.name)).toEqual(['one']);
    if (hasTar) expect(tarAccepts(bytes).stdout).not.toContain('two');
  });

  it('refuses long names and pax headers beyond the caps, and malformed pax records', async () => {
    const long = archiveOf(header({ name: '././@LongLink', type: 'L', size: TAR_MAX_NAME_BYTES + 1, magic: 'gnu' }), new Uint8Array(TAR_MAX_NAME_BYTES + 1).fill(0x61), header({ name: 'x' }));
    expect((await rejectionOf(collect(walkTar(randomAccessReader(long))))).code).toBe('LIMIT_EXCEEDED');
    const record = (text: string) => new TextEncoder().encode(text);
    expect(parsePaxRecords(record('12 path=abc\n'), 0).values.get('path')).toBe('abc');
    expect(parsePaxRecords(record('5 a=\n'), 0).values.get('a')).toBe('');
    for (const bad of ['12 path=abc', '99 path=abc\n', 'x path=abc\n', '11 pathabc\n', '4 a=\n']) {
      const paxed = archiveOf(header({ name: 'PaxHeaders/x', type: 'x', size: bad.length }), record(bad), header({ name: 'x' }));
      expect((await rejectionOf(collect(walkTar(randomAccessReader(paxed))))).code, bad).toBe('CORRUPT');
    }
  });

  it('cuts a pax mtime to the millisecond from its digits, as tar --full-time shows it', async () => {
    for (const [value, iso] of [
      ['1612325106.789999999', '2021-02-03T04:05:06.789Z'],
      ['1612325106', '2021-02-03T04:05:06.000Z'],
      ['-1.5', '1969-12-31T23:59:58.500Z'],
    ] as const) {
      const body = `mtime=${value}\n`;
      const length = body.length + String(body.length + 3).length + 1;
      const record = new TextEncoder().encode(`${length} ${body}`);
      const bytes = archiveOf(header({ name: 'PaxHeaders/x', type: 'x', size: record.byteLength }), record, header({ name: 'x' }));
      const [entry] = await collect(walkTar(randomAccessReader(bytes)));
      expect(entry?.mtime, value).toBe(iso);
      if (hasTar && !value.startsWith('-')) expect(tarAccepts(bytes).status).toBe(0);
    }
  });

  it('parses one header alone, and knows a tar head from other bytes', () => {
    const block = header({ name: 'dir/', type: '5' });
    expect(parseTarHeader(block)).toMatchObject({ name: 'dir/', typeFlag: '5', mode: 0o644, uid: 1000, format: 'ustar', mtime: 0o14000000000 });
    expect(detectTar(block)).toBe(true);
    expect(detectTar(header({ name: 'v7file', magic: 'v7' }))).toBe(true);
    expect(detectTar(new Uint8Array(512))).toBe(false);
    expect(detectTar(new Uint8Array(512).fill(0x41))).toBe(false);
    const qcow2 = new Uint8Array(512);
    qcow2.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]);
    expect(detectTar(qcow2)).toBe(false);
    expect(detectTar(block.subarray(0, 300))).toBe(false);
  });

  it('gives no ISO time where Date cannot represent one', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(2 ** 52)).toBeUndefined();
  });
});
