import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { comparable, makeSource, sourceKinds } from '../helpers/sources.js';
import { formatKit, patternedData, run, scratch } from '../helpers/format-kit.js';

const { details, failure, fixtureBytes } = formatKit('qcow');

describe('qcow details read from the bytes (hand-checked against block/qcow.c QCowHeader)', () => {
  it('an empty 64 MiB image: 4 KiB clusters, 512 L2 entries, the L1 table after the header', async () => {
    const ours = details(await run(fixtureBytes('empty.qcow')));
    // 64 MiB / (4 KiB clusters * 512 entries) = 32 L1 entries, at 48 (the header's end).
    expect(ours).toEqual({
      version: 1,
      backingFile: undefined,
      mtime: '1970-01-01T00:00:00.000Z',
      size: 64 * 1024 * 1024,
      clusterBits: 12,
      clusterSize: 4096,
      l2Bits: 9,
      encryption: 'none',
      l1TableOffset: 48,
      l1Size: 32,
    });
  });

  it('a backing file: the name right after the header, 512-byte clusters, L1 table after the name', async () => {
    const bytes = fixtureBytes('backing.qcow');
    const view = new DataView(bytes.buffer);
    expect([Number(view.getBigUint64(8)), view.getUint32(16)]).toEqual([48, 8]);
    const ours = details(await run(bytes));
    expect(ours.backingFile).toBe('base.raw');
    expect([ours.clusterBits, ours.l2Bits, ours.l1TableOffset]).toEqual([9, 12, 56]);
  });

  it('AES encryption, and the size the header declares where qemu floors it', async () => {
    expect(details(await run(fixtureBytes('aes.qcow'))).encryption).toBe('aes');
    const info = await run(fixtureBytes('size-unaligned.qcow'));
    expect(info.virtualSize).toBe(1_000_000);
    expect(info.warnings).toEqual(['the size 1000000 is not a multiple of 512; qemu reports 999936 (whole sectors)']);
  });

  it('a backing file name that points back into the header is read from the kept header on every source', async () => {
    const bytes = fixtureBytes('empty.qcow');
    const view = new DataView(bytes.buffer);
    view.setBigUint64(8, 0n + 1n); // "FI\xfb" ... from offset 1, 3 bytes
    view.setUint32(16, 2);
    const reference = await run(bytes);
    expect(details(reference).backingFile).toBe('FI');
    for (const kind of sourceKinds) expect(comparable(await run(makeSource(kind, bytes)))).toEqual(comparable(reference));
  });
});

describe('qcow errors', () => {
  const patched = (patch: (view: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const bytes = fixtureBytes('empty.qcow');
    patch(new DataView(bytes.buffer), bytes);
    return bytes;
  };

  it('a header cut short: TRUNCATED', async () => {
    const error = await failure(fixtureBytes('empty.qcow').subarray(0, 40));
    expect([error.code, error.format, error.field]).toEqual(['TRUNCATED', 'qcow', 'header']);
  });

  it('impossible values: CORRUPT naming the field', async () => {
    const cases: Array<[(view: DataView, bytes: Uint8Array) => void, string]> = [
      [(view) => view.setBigUint64(24, 1n), 'header.size'],
      [(_view, bytes) => (bytes[32] = 17), 'header.clusterBits'],
      [(_view, bytes) => (bytes[33] = 5), 'header.l2Bits'],
    ];
    for (const [patch, field] of cases) {
      const error = await failure(patched(patch));
      expect([error.code, error.field]).toEqual(['CORRUPT', field]);
    }
  });

  it('limits: a 1024-byte backing name, a disk needing more than INT_MAX / 8 L1 entries', async () => {
    const longName = await failure(patched((view) => {
      view.setBigUint64(8, 48n);
      view.setUint32(16, 1024);
    }));
    expect([longName.code, longName.field]).toEqual(['LIMIT_EXCEEDED', 'header.backingFileSize']);
    const huge = await failure(patched((view, bytes) => {
      bytes[32] = 9;
      bytes[33] = 6;
      view.setBigUint64(24, 1n << 50n);
    }));
    expect([huge.code, huge.field]).toEqual(['LIMIT_EXCEEDED', 'header.size']);
  });

  it('an unknown encryption method: UNSUPPORTED', async () => {
    const error = await failure(patched((view) => view.setUint32(36, 2)));
    expect([error.code, error.field]).toEqual(['UNSUPPORTED', 'header.cryptMethod']);
  });
});

describe.skipIf(!hasQemuImg)(`qcow against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work, path, agrees } = scratch('qcow');
  qemuImg(['create', '-q', '-f', 'raw', path('base.raw'), '8M']);
  qemuImg(['create', '-q', '-f', 'qcow2', path('base.qcow2'), '8M']);

  for (const size of ['1M', '1000000', '1G', '100G', '2T']) {
    it(`size ${size}: agrees`, async () => {
      qemuImg(['create', '-q', '-f', 'qcow', path(`size-${size}.qcow`), size]);
      await agrees(`size-${size}.qcow`);
    });
  }

  for (const backingFormat of ['raw', 'qcow2']) {
    it(`a ${backingFormat} backing file: agrees`, async () => {
      qemuImg(['create', '-q', '-f', 'qcow', '-b', `base.${backingFormat}`, '-F', backingFormat, path(`backing-${backingFormat}.qcow`)], work);
      expect(details(await agrees(`backing-${backingFormat}.qcow`)).backingFile).toBe(`base.${backingFormat}`);
    });
  }

  it('AES encryption (encrypt.format=aes, and the legacy encryption=on): agrees', async () => {
    const secret = ['--object', 'secret,id=sec0,data=123456'];
    qemuImg(['create', '-q', ...secret, '-f', 'qcow', '-o', 'encrypt.format=aes,encrypt.key-secret=sec0', path('aes.qcow'), '8M']);
    qemuImg(['create', '-q', ...secret, '-f', 'qcow', '-o', 'encryption=on,encrypt.key-secret=sec0', path('legacy.qcow'), '8M']);
    expect(details(await agrees('aes.qcow')).encryption).toBe('aes');
    expect(details(await agrees('legacy.qcow')).encryption).toBe('aes');
  });

  // `qemu-img convert -c -O qcow` exits 1 without a message in qemu 7.2, so only plain conversion is compared.
  it('converted data: agrees', async () => {
    const data = patternedData(2 * 1024 * 1024, 613, (index) => (index * 3) & 0xff);
    writeFileSync(path('data.raw'), data);
    qemuImg(['convert', '-q', '-O', 'qcow', path('data.raw'), path('converted.qcow')]);
    await agrees('converted.qcow');
    expect(readFileSync(path('converted.qcow')).byteLength).toBeGreaterThan(data.length / 100);
  });
});
