/**
 * The zip reader against Info-ZIP: archives made at test time by `zip` (deflate, stored,
 * zip64, symlinks, streamed with data descriptors, with a prepended stub), described by
 * `unzip -Z -v`, and entry data read back at the local header's data offset and inflated.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ZIP_MAX_ENTRIES,
  type ZipEntry,
  ZipStreamWalker,
  cp437Text,
  dosDateTime,
  findEndOfCentralDirectory,
  readCentralDirectory,
  readLocalHeader,
} from '../../containers/shared/zip.js';
import { rejectionOf } from '../helpers/errors.js';
import { forwardOnlyReader, randomAccessReader } from './readers.js';

const hasZip = spawnSync('zip', ['-v'], { encoding: 'utf8' }).status === 0 && spawnSync('unzip', ['-v'], { encoding: 'utf8' }).status === 0;
const zipMissing = 'zip and unzip (Info-ZIP) are not on the PATH';
const work = mkdtempSync(join(tmpdir(), 'zip-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[], cwd = work, input?: Uint8Array): { status: number; stdout: string; stderr: string; raw: Buffer } {
  const result = spawnSync(command, args, { cwd, input, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? -1, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), raw: result.stdout };
}

const RANDOM = new Uint8Array(70_000).map((_, index) => (index * 2654435761) >>> 24);
const TEXT = 'hello, zip\n'.repeat(500);

function makeTree(root: string): void {
  mkdirSync(join(root, 'd/sub'), { recursive: true });
  writeFileSync(join(root, 'd/text.txt'), TEXT);
  writeFileSync(join(root, 'd/random.bin'), RANDOM);
  writeFileSync(join(root, 'd/empty'), '');
  writeFileSync(join(root, 'd/sub/ünï.txt'), 'unicode name\n');
  symlinkSync('text.txt', join(root, 'd/link'));
}

/** One entry as `unzip -Z -v` describes it. */
interface Described {
  name: string;
  localHeaderOffset: number;
  method: string;
  encrypted: boolean;
  dataDescriptor: boolean;
  dosTime: string;
  utcTime?: string;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  unixMode?: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026 Nov 30 09:55:56` → `2026-11-30T09:55:56`. */
function zipinfoTime(text: string): string {
  const [year, month, day, time] = text.trim().split(/\s+/) as [string, string, string, string];
  return `${year}-${String(MONTHS.indexOf(month) + 1).padStart(2, '0')}-${day.padStart(2, '0')}T${time}`;
}

function describeWithUnzip(archive: string): { entries: Described[]; count: number; size: number; offset: number } {
  const result = run('unzip', ['-Z', '-v', archive]);
  expect(result.status, result.stderr).toBe(0);
  const text = result.stdout;
  const count = Number(/central directory contains (\d+) entr/.exec(text)?.[1]);
  const size = Number(/The central directory is (\d+)/.exec(text)?.[1]);
  const offset = Number(/is (\d+) \([0-9A-F]+h\)\.\s*$/m.exec(text)?.[1] ?? /offset in bytes from the beginning of the zipfile\s+is (\d+)/.exec(text)?.[1]);
  const entries = text
    .split(/Central directory entry #\d+:\n-+\n/)
    .slice(1)
    .map((block) => {
      const value = (label: string) => new RegExp(`${label}:\\s+(.*)`).exec(block)?.[1]?.trim() ?? '';
      // unzip 6.0 prints a note before the name of entries in zip -fz archives ("There are an extra 8 bytes preceding this file.").
      const name = block.split('\n').map((line) => line.trim()).find((line) => line !== '' && !line.startsWith('There are an extra')) as string;
      const described: Described = {
        name,
        localHeaderOffset: Number(value('offset of local header from start of archive')),
        method: value('compression method'),
        encrypted: value('file security status') !== 'not encrypted',
        dataDescriptor: value('extended local header') === 'yes',
        dosTime: zipinfoTime(value('file last modified on \\(DOS date/time\\)')),
        crc32: Number.parseInt(value('32-bit CRC value \\(hex\\)'), 16),
        compressedSize: Number(value('compressed size').split(' ')[0]),
        uncompressedSize: Number(value('uncompressed size').split(' ')[0]),
      };
      const utc = /UT extra field modtime\):\s+(.*) UTC/.exec(block)?.[1];
      if (utc !== undefined) described.utcTime = zipinfoTime(utc);
      const mode = /Unix file attributes \((\d+) octal\)/.exec(block)?.[1];
      if (mode !== undefined) described.unixMode = Number.parseInt(mode, 8);
      return described;
    });
  return { entries, count, size, offset };
}

const UNZIP_METHODS: Record<string, string> = { stored: 'none (stored)', deflate: 'deflated' };

function expectAgreesWithUnzip(entries: ZipEntry[], described: Described[]): void {
  expect(entries.map((entry) => entry.name)).toEqual(described.map((entry) => entry.name));
  entries.forEach((entry, index) => {
    const info = described[index] as Described;
    expect(entry.localHeaderOffset, entry.name).toBe(info.localHeaderOffset);
    expect(info.method.startsWith(UNZIP_METHODS[entry.methodName] ?? entry.methodName), `${entry.name}: ${info.method}`).toBe(true);
    expect(entry.encrypted).toBe(info.encrypted);
    expect(entry.hasDataDescriptor).toBe(info.dataDescriptor);
    expect(entry.dosTime).toBe(info.dosTime);
    if (info.utcTime !== undefined) expect(entry.mtime?.slice(0, 19)).toBe(info.utcTime);
    expect(entry.crc32).toBe(info.crc32);
    expect(entry.compressedSize).toBe(info.compressedSize);
    expect(entry.uncompressedSize).toBe(info.uncompressedSize);
    expect(entry.mode).toBe(info.unixMode);
  });
}

/** The entry's bytes, read at its local header's data offset (inflated when deflated). */
function entryData(bytes: Uint8Array, dataOffset: number, entry: Pick<ZipEntry, 'method' | 'compressedSize'>): Uint8Array {
  const stored = bytes.subarray(dataOffset, dataOffset + entry.compressedSize);
  return entry.method === 8 ? new Uint8Array(inflateRawSync(stored)) : stored;
}

const ARCHIVES = [
  { name: 'deflate', args: ['-qry'] },
  { name: 'stored', args: ['-qry0'] },
  { name: 'zip64', args: ['-qry', '-fz'] },
] as const;

describe.skipIf(!hasZip)(`zip archives made by Info-ZIP, described by unzip -Z -v${hasZip ? '' : ` (skipped: ${zipMissing})`}`, () => {
  const root = join(work, 'tree');
  makeTree(root);

  for (const { name, args } of ARCHIVES) {
    describe(`zip ${args.join(' ')}`, () => {
      const archive = join(work, `${name}.zip`);
      const made = run('zip', [...args, archive, 'd'], root);
      const bytes = new Uint8Array(readFileSync(archive));

      it('has the central directory and entries unzip describes', async () => {
        expect(made.status, made.stderr).toBe(0);
        const reader = randomAccessReader(bytes);
        const location = await findEndOfCentralDirectory(reader);
        const described = describeWithUnzip(archive);
        expect(location.entryCount).toBe(described.count);
        expect(location.centralDirectorySize).toBe(described.size);
        expect(location.centralDirectoryOffset).toBe(described.offset);
        expect(location.prependedBytes).toBe(0);
        expect(location.zip64EndOffset !== undefined).toBe(name === 'zip64');
        const entries = await readCentralDirectory(reader, location);
        expectAgreesWithUnzip(entries, described.entries);
        expect(entries.find((entry) => entry.name === 'd/link')?.type).toBe('symlink');
        expect(entries.find((entry) => entry.name === 'd/sub/')?.type).toBe('directory');
        if (name === 'zip64') expect(entries.filter((entry) => entry.type === 'file').every((entry) => entry.zip64)).toBe(true);
      });

      it('finds each entry data at its local header and it inflates to the file', async () => {
        const reader = randomAccessReader(bytes, false);
        const entries = await readCentralDirectory(reader, await findEndOfCentralDirectory(reader));
        for (const entry of entries.filter((candidate) => candidate.type !== 'directory')) {
          const local = await readLocalHeader(reader, entry);
          expect(local.nameMatches).toBe(true);
          const expected = entry.type === 'symlink' ? new TextEncoder().encode('text.txt') : new Uint8Array(readFileSync(join(root, entry.name)));
          expect(entryData(bytes, local.dataOffset, entry), entry.name).toEqual(expected);
        }
      });

      it('walks the same entries forward from the local headers', async () => {
        const reader = randomAccessReader(bytes);
        const central = await readCentralDirectory(reader, await findEndOfCentralDirectory(reader));
        const walker = new ZipStreamWalker(forwardOnlyReader(bytes));
        const walked = [];
        for (let entry = await walker.next(); entry; entry = await walker.next()) walked.push(entry);
        expect(walked.map((entry) => [entry.name, entry.offset, entry.crc32, entry.compressedSize])).toEqual(
          central.map((entry) => [entry.name, entry.localHeaderOffset, entry.crc32, entry.compressedSize]),
        );
        expect(walker.endOffset).toBe(central.length > 0 ? (await findEndOfCentralDirectory(reader)).centralDirectoryOffset : 0);
      });
    });
  }

  it('walks a streamed zip (sizes in data descriptors) by decoding through each entry', async () => {
    const streamed = run('zip', ['-qr', '-', 'd'], root);
    expect(streamed.status, streamed.stderr).toBe(0);
    const bytes = new Uint8Array(streamed.raw);
    const archive = join(work, 'streamed.zip');
    writeFileSync(archive, bytes);
    const described = describeWithUnzip(archive).entries;
    expect(described.some((entry) => entry.dataDescriptor)).toBe(true);

    // Without decoding, the walker cannot pass an entry whose size is deferred.
    const blind = new ZipStreamWalker(forwardOnlyReader(bytes));
    let first = await blind.next();
    while (first?.sizeKnown) first = await blind.next();
    expect(first?.sizeKnown).toBe(false);
    expect((await rejectionOf(blind.next())).code).toBe('UNSUPPORTED');

    const walker = new ZipStreamWalker(forwardOnlyReader(bytes));
    const names: string[] = [];
    let waiting: number | undefined;
    for (let entry = await walker.next(); ; entry = await walker.next()) {
      if (waiting !== undefined) {
        // The descriptor after the decoded entry says what unzip says of it.
        expect(walker.lastDataDescriptor?.crc32).toBe(described[waiting]?.crc32);
        expect(walker.lastDataDescriptor?.compressedSize).toBe(described[waiting]?.compressedSize);
        waiting = undefined;
      }
      if (entry === undefined) break;
      names.push(entry.name);
      if (!entry.sizeKnown) {
        expect(entry.method).toBe(8);
        // Decode as a stream reader would: inflate from the data offset and count the input it took.
        const { engine } = inflateRawSync(bytes.subarray(entry.dataOffset), { info: true }) as unknown as { engine: { bytesWritten: number } };
        walker.dataEndsAt(engine.bytesWritten);
        waiting = names.length - 1;
      }
    }
    expect(names).toEqual(described.map((entry) => entry.name));
  });

  it('finds the directory behind a prepended stub (a self-extractor), as unzip does', async () => {
    const plain = new Uint8Array(readFileSync(join(work, 'deflate.zip')));
    const stub = new Uint8Array(1000).fill(0x4d);
    const bytes = new Uint8Array(stub.byteLength + plain.byteLength);
    bytes.set(stub);
    bytes.set(plain, stub.byteLength);
    const archive = join(work, 'sfx.zip');
    writeFileSync(archive, bytes);
    const reader = randomAccessReader(bytes);
    const location = await findEndOfCentralDirectory(reader);
    expect(location.prependedBytes).toBe(1000);
    const entries = await readCentralDirectory(reader, location);
    const test = run('unzip', ['-tq', archive]);
    expect(test.stdout + test.stderr).toMatch(/1000 extra bytes/);
    const text = entries.find((entry) => entry.name === 'd/text.txt') as ZipEntry;
    const local = await readLocalHeader(reader, text);
    expect(new TextDecoder().decode(entryData(bytes, local.dataOffset, text))).toBe(TEXT);
  });

  it('reads the archive comment and ignores an end-record signature inside it', async () => {
    const archive = join(work, 'comment.zip');
    expect(run('zip', ['-qr', archive, 'd/text.txt'], root).status).toBe(0);
    const comment = 'note PK\x05\x06 not a record';
    expect(run('zip', ['-qz', archive], root, new TextEncoder().encode(`${comment}\n.\n`)).status).toBe(0);
    const bytes = new Uint8Array(readFileSync(archive));
    const location = await findEndOfCentralDirectory(randomAccessReader(bytes));
    expect(location.comment).toContain('not a record');
    expect(location.entryCount).toBe(1);
    // A stream finds it too, reading to the end and keeping the tail.
    expect(await findEndOfCentralDirectory(forwardOnlyReader(bytes))).toEqual(location);
  });
});

/** The smallest end record: `entries` entries in a directory of `size` bytes at `offset`. */
function endRecord(entries: number, size: number, offset: number, comment = ''): Uint8Array {
  const bytes = new Uint8Array(22 + comment.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x06054b50, true);
  view.setUint16(8, Math.min(entries, 0xffff), true);
  view.setUint16(10, Math.min(entries, 0xffff), true);
  view.setUint32(12, size, true);
  view.setUint32(16, offset, true);
  view.setUint16(20, comment.length, true);
  bytes.set(new TextEncoder().encode(comment), 22);
  return bytes;
}

describe('zip structures written by hand', () => {
  it('is FORMAT_MISMATCH without an end record, CORRUPT when the directory cannot be where it says', async () => {
    expect((await rejectionOf(findEndOfCentralDirectory(randomAccessReader(new Uint8Array(1000))))).code).toBe('FORMAT_MISMATCH');
    const overlapping = new Uint8Array(100);
    overlapping.set(endRecord(1, 500, 0), 78);
    expect((await rejectionOf(findEndOfCentralDirectory(randomAccessReader(overlapping)))).code).toBe('CORRUPT');
    const saturated = endRecord(0xffff, 0, 0);
    expect((await rejectionOf(findEndOfCentralDirectory(randomAccessReader(saturated)))).code).toBe('CORRUPT');
  });

  it('refuses directories beyond the caps, and entries that run past the directory', async () => {
    const many = { endOffset: 0, centralDirectoryOffset: 0, centralDirectorySize: 46, entryCount: ZIP_MAX_ENTRIES + 1, comment: '', prependedBytes: 0, multiDisk: false };
    expect((await rejectionOf(readCentralDirectory(randomAccessReader(new Uint8Array(46)), many))).code).toBe('LIMIT_EXCEEDED');
    const header = new Uint8Array(46);
    new DataView(header.buffer).setUint32(0, 0x02014b50, true);
    new DataView(header.buffer).setUint16(28, 5000, true); // a 5000-byte name: above the cap
    expect((await rejectionOf(readCentralDirectory(randomAccessReader(header), { ...many, entryCount: 1 }))).code).toBe('LIMIT_EXCEEDED');
    new DataView(header.buffer).setUint16(28, 10, true); // a 10-byte name past the directory's end
    expect((await rejectionOf(readCentralDirectory(randomAccessReader(header), { ...many, entryCount: 1 }))).code).toBe('CORRUPT');
    expect((await rejectionOf(readCentralDirectory(randomAccessReader(header), { ...many, entryCount: 2, centralDirectorySize: 46 }))).code).toBe('CORRUPT');
  });

  it('stops a stream walk at anything that is not a zip header', async () => {
    const junk = new Uint8Array(64).fill(0x41);
    expect((await rejectionOf(new ZipStreamWalker(forwardOnlyReader(junk)).next())).code).toBe('CORRUPT');
    expect((await rejectionOf(new ZipStreamWalker(forwardOnlyReader(new Uint8Array(2))).next())).code).toBe('TRUNCATED');
  });

  it('decodes DOS times and code page 437 names', () => {
    // 2021-02-03 04:05:06: date (41 << 9) | (2 << 5) | 3, time (4 << 11) | (5 << 5) | 3.
    expect(dosDateTime((41 << 9) | (2 << 5) | 3, (4 << 11) | (5 << 5) | 3)).toBe('2021-02-03T04:05:06');
    expect(cp437Text(new Uint8Array([0x63, 0x61, 0x66, 0x82, 0x9c]))).toBe('café£');
  });
});
