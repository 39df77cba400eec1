import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { fixtures } from '../helpers/fixtures.js';
import { formatKit, patternedData, run, scratch } from '../helpers/format-kit.js';

const { details, failure, fixtureBytes } = formatKit('qed');
const qedFixtures = fixtures('qed');

describe('qed details read from the bytes (hand-checked against the QED specification)', () => {
  it('a table of one cluster (which qemu refuses: "QED table offset is invalid"): reported, with a warning', async () => {
    const info = await run(fixtureBytes('table-size-1.qed'));
    expect(details(info).tableSize).toBe(1);
    expect(info.virtualSize).toBe(1024 * 1024);
    expect(info.warnings.join('\n')).toMatch(/qemu 7.2 refuses to open such an image/);
  });

  it('an empty 64 MiB image: 64 KiB clusters, 4-cluster tables, one header cluster, L1 table after it', async () => {
    const ours = details(await run(fixtureBytes('empty.qed')));
    expect(ours).toEqual({
      clusterSize: 65536,
      tableSize: 4,
      headerSize: 1,
      features: { mask: '0x0', names: [], unknown: '0x0' },
      compatFeatures: { mask: '0x0', names: [], unknown: '0x0' },
      autoclearFeatures: { mask: '0x0', names: [], unknown: '0x0' },
      backingFile: undefined,
      backingFormat: undefined,
      needsCheck: false,
      l1TableOffset: 65536,
    });
  });

  it('a raw backing file: features 0x5 (backing file, raw), the name at 64', async () => {
    const bytes = fixtureBytes('backing-raw.qed');
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(56, true), view.getUint32(60, true)]).toEqual([64, 8]);
    const ours = details(await run(bytes));
    expect(ours.features).toEqual({ mask: '0x5', names: ['backing file', 'raw backing file'], unknown: '0x0' });
    expect([ours.backingFile, ours.backingFormat]).toEqual(['base.raw', 'raw']);
  });

  it('a qcow2 backing file: no format recorded (QED can only say "raw")', async () => {
    const ours = details(await run(fixtureBytes('backing-qcow2.qed')));
    expect([ours.features.mask, ours.backingFile, ours.backingFormat]).toEqual(['0x1', 'base.qcow2', undefined]);
  });

  it('the needs-check bit (which qemu 7.2 does not report as dirty); 4 KiB clusters with 16-cluster tables', async () => {
    const bytes = fixtureBytes('needs-check.qed');
    expect(new DataView(bytes.buffer).getBigUint64(16, true)).toBe(2n);
    expect(qedFixtures.find((fixture) => fixture.name === 'needs-check.qed')?.qemu['dirty-flag']).toBe(false);
    expect(details(await run(bytes)).needsCheck).toBe(true);
    expect(details(await run(fixtureBytes('empty.qed'))).needsCheck).toBe(false);
    const small = details(await run(fixtureBytes('cluster-4k-table-16.qed')));
    expect([small.clusterSize, small.tableSize]).toEqual([4096, 16]);
  });

  it('unknown feature bits and a size that is not whole sectors: reported, with the warnings qemu would refuse with', async () => {
    const bytes = fixtureBytes('empty.qed');
    const view = new DataView(bytes.buffer);
    view.setBigUint64(16, 1n << 40n, true);
    view.setBigUint64(48, 1000000n, true);
    const info = await run(bytes);
    expect(info.virtualSize).toBe(1000000);
    expect(details(info).features.unknown).toBe('0x10000000000');
    expect(info.warnings).toHaveLength(2);
  });
});

describe('qed where qemu 7.2 computes the largest disk modulo 2^64', () => {
  it('64 MiB clusters with 16-cluster tables: reported, with a warning that qemu refuses the image', async () => {
    const bytes = fixtureBytes('empty.qed');
    const view = new DataView(bytes.buffer);
    view.setUint32(4, 64 * 1024 * 1024, true);
    view.setUint32(8, 16, true);
    view.setBigUint64(40, 64n * 1024n * 1024n, true);
    // (16 * 64 MiB / 8)^2 * 64 MiB = 2^80 bytes, which qemu's u64 arithmetic wraps to 0.
    const info = await run(bytes);
    expect(info.virtualSize).toBe(64 * 1024 * 1024);
    expect(info.warnings.join('\n')).toMatch(/modulo 2\^64/);
  });
});

describe('qed errors', () => {
  const patched = (patch: (view: DataView) => void): Uint8Array => {
    const bytes = fixtureBytes('empty.qed');
    patch(new DataView(bytes.buffer));
    return bytes;
  };

  it('a header cut short: TRUNCATED', async () => {
    const error = await failure(fixtureBytes('empty.qed').subarray(0, 63));
    expect([error.code, error.format, error.field]).toEqual(['TRUNCATED', 'qed', 'header']);
  });

  it('impossible values: CORRUPT naming the field', async () => {
    const cases: Array<[(view: DataView) => void, string]> = [
      [(view) => view.setUint32(4, 3000, true), 'header.clusterSize'],
      [(view) => view.setUint32(4, 128 * 1024 * 1024, true), 'header.clusterSize'],
      [(view) => view.setUint32(8, 3, true), 'header.tableSize'],
      [(view) => view.setUint32(8, 32, true), 'header.tableSize'],
      [(view) => view.setBigUint64(48, 1n << 60n, true), 'header.imageSize'],
      [(view) => view.setBigUint64(40, 4096n, true), 'header.l1TableOffset'],
      [(view) => view.setUint32(12, 70000, true), 'header.headerSize'],
    ];
    for (const [patch, field] of cases) {
      const error = await failure(patched(patch));
      expect([error.code, error.field]).toEqual(['CORRUPT', field]);
    }
  });

  it('a backing name of 4096 bytes: LIMIT_EXCEEDED', async () => {
    const error = await failure(patched((view) => {
      view.setBigUint64(16, 1n, true);
      view.setUint32(56, 64, true);
      view.setUint32(60, 4096, true);
    }));
    expect([error.code, error.field]).toEqual(['LIMIT_EXCEEDED', 'header.backingFilenameSize']);
  });
});

describe.skipIf(!hasQemuImg)(`qed against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work, path, agrees } = scratch('qed');
  qemuImg(['create', '-q', '-f', 'raw', path('base.raw'), '8M']);
  qemuImg(['create', '-q', '-f', 'qcow2', path('base.qcow2'), '8M']);
  qemuImg(['create', '-q', '-f', 'qed', path('base.qed'), '8M']);

  // 4 KiB clusters with 2-cluster tables map at most 4 GiB. Where (table entries)^2 x cluster
  // size reaches 2^64 (4 MiB clusters with 4-cluster tables, 8 MiB with 2), qemu's maximum wraps
  // and qemu-img refuses to create the image: there we check that our warning names the same
  // (wrapped) maximum qemu-img prints.
  for (const clusterSize of ['4K', '64K', '1M', '2M', '4M', '8M']) {
    for (const tableSize of ['2', '4', '16']) {
      it(`cluster_size=${clusterSize} table_size=${tableSize}: agrees, or qemu's wrapped maximum is predicted`, async () => {
        const name = `c${clusterSize}-t${tableSize}.qed`;
        const options = ['create', '-q', '-f', 'qed', '-o', `cluster_size=${clusterSize},table_size=${tableSize}`, path(name), '3G'];
        let refusal: string | undefined;
        try {
          qemuImg(options);
        } catch (error) {
          refusal = String(error);
        }
        if (refusal === undefined) {
          await agrees(name);
          return;
        }
        const wrapped = /less than (\d+) bytes/.exec(refusal)?.[1];
        expect(wrapped, refusal).toBeDefined();
        const bytes = new Uint8Array(readFileSync(path('base.qed')));
        const view = new DataView(bytes.buffer);
        const clusterBytes = Number.parseInt(clusterSize, 10) * (clusterSize.endsWith('M') ? 1024 * 1024 : 1024);
        view.setUint32(4, clusterBytes, true);
        view.setUint32(8, Number(tableSize), true);
        view.setBigUint64(40, BigInt(clusterBytes), true);
        view.setBigUint64(48, 3n << 30n, true);
        const info = await run(bytes);
        expect(info.warnings.join('\n')).toContain(`modulo 2^64 (${wrapped} bytes)`);
      });
    }
  }

  it('sizes from 512 bytes to 1000000 bytes rounded up: agrees', async () => {
    for (const size of ['512', '1000000', '3G']) {
      qemuImg(['create', '-q', '-f', 'qed', path(`size-${size}.qed`), size]);
      await agrees(`size-${size}.qed`);
    }
  });

  for (const backingFormat of ['raw', 'qcow2', 'qed']) {
    it(`a ${backingFormat} backing file: agrees (only raw is recorded as a format)`, async () => {
      const name = `backing-${backingFormat}.qed`;
      qemuImg(['create', '-q', '-f', 'qed', '-b', `base.${backingFormat}`, '-F', backingFormat, path(name)], work);
      expect(details(await agrees(name)).backingFile).toBe(`base.${backingFormat}`);
    });
  }

  it('converted data, and the needs-check bit patched in: agrees', async () => {
    const data = patternedData(2 * 1024 * 1024, 613, (index) => (index * 5) & 0xff);
    writeFileSync(path('data.raw'), data);
    qemuImg(['convert', '-q', '-O', 'qed', path('data.raw'), path('converted.qed')]);
    await agrees('converted.qed');
    const bytes = new Uint8Array(readFileSync(path('converted.qed')));
    new DataView(bytes.buffer).setBigUint64(16, 2n, true);
    writeFileSync(path('needs-check.qed'), bytes);
    expect(details(await agrees('needs-check.qed')).needsCheck).toBe(true);
  });
});
