import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { luks } from '../../formats/luks.js';
import { fixtures } from '../helpers/fixtures.js';
import { formatKit, formats, type InfoOf, run, scratch } from '../helpers/format-kit.js';
import { introspectFile } from '../../src/node.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { makeSource } from '../helpers/sources.js';

type LuksInfo = InfoOf<'luks'>;
const { info: introspectLuks, fixtureBytes, rejects } = formatKit('luks');
const luksFixtures = fixtures('luks');
const hasCryptsetup = spawnSync('cryptsetup', ['--version'], { encoding: 'utf8' }).status === 0;
const cryptsetupMissing = 'cryptsetup is not on the PATH (install cryptsetup-bin)';

// ---------------------------------------------------------------------------------------
// Oracles

/** The fields of `cryptsetup luksDump` (text), as `label: value`, with key slots and segments. */
function parseLuksDump(text: string): { fields: Map<string, string>; slots: Map<number, Map<string, string>> } {
  const fields = new Map<string, string>();
  const slots = new Map<number, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const slot = /^(?:Key Slot |  )(\d+): (\S+)/.exec(line);
    if (slot) {
      current = new Map([['state', slot[2] as string]]);
      slots.set(Number(slot[1]), current);
      continue;
    }
    const field = /^\s*([^:\t]+):\s*(.*?)\s*$/.exec(line);
    if (!field) continue;
    if (!line.startsWith('\t') && !line.startsWith(' ')) current = undefined;
    (current ?? fields).set(field[1] as string, field[2] as string);
  }
  return { fields, slots };
}

/** Checks a LUKS1 result against `cryptsetup luksDump`. */
function expectLuks1AgreesWithDump(info: LuksInfo, dump: string): void {
  const { fields, slots } = parseLuksDump(dump);
  const details = info.details;
  expect(details.version).toBe(Number(fields.get('Version')));
  expect(details.cipherName).toBe(fields.get('Cipher name'));
  expect(details.cipherMode).toBe(fields.get('Cipher mode'));
  expect(details.hashSpec).toBe(fields.get('Hash spec'));
  expect(details.payloadOffset).toBe(Number(fields.get('Payload offset')) * 512);
  expect((details.keyBytes ?? 0) * 8).toBe(Number(fields.get('MK bits')));
  expect(details.masterKeyDigestIterations).toBe(Number(fields.get('MK iterations')));
  expect(details.uuid).toBe(fields.get('UUID'));
  expect(details.label).toBeUndefined();
  expect([...slots.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  for (const slot of details.keySlots) {
    const dumped = slots.get(slot.slot);
    expect(slot.active ? 'ENABLED' : 'DISABLED').toBe(dumped?.get('state'));
    if (!slot.active) continue;
    expect(slot.iterations).toBe(Number(dumped?.get('Iterations')));
    expect(slot.keyMaterialOffset).toBe(Number(dumped?.get('Key material offset')) * 512);
    expect(slot.stripes).toBe(Number(dumped?.get('AF stripes')));
  }
}

type DumpJson = {
  keyslots: Record<string, { type: string; key_size: number; priority?: number; af: { stripes: number; hash: string }; area: { offset: string; size: string; encryption: string }; kdf: { type: string; hash?: string; iterations?: number; time?: number; memory?: number; cpus?: number } }>;
  segments: Record<string, { type: string; offset: string; size: string; encryption: string; sector_size: number; flags?: string[] }>;
  digests: Record<string, { hash: string; iterations: number; segments: string[] }>;
  tokens: Record<string, unknown>;
  config: { json_size: string; keyslots_size: string; flags?: string[]; requirements?: { mandatory?: string[] } };
};

/** Checks a LUKS2 result against `cryptsetup luksDump` and `luksDump --dump-json-metadata`. */
function expectLuks2AgreesWithDump(info: LuksInfo, dump: string, json: DumpJson): void {
  const { fields } = parseLuksDump(dump);
  const details = info.details;
  expect(details.version).toBe(2);
  expect(details.uuid).toBe(fields.get('UUID'));
  expect(details.label ?? '(no label)').toBe(fields.get('Label'));
  expect(details.subsystem ?? '(no subsystem)').toBe(fields.get('Subsystem'));
  expect(details.sequenceId).toBe(Number(fields.get('Epoch')));
  expect(details.headerSize).toBe(Number(fields.get('Metadata area')?.split(' ')[0]));
  expect(details.config?.keyslotsSize).toBe(Number(fields.get('Keyslots area')?.split(' ')[0]));
  expect(details.keySlots).toEqual(
    Object.entries(json.keyslots).map(([index, slot]) => ({
      slot: Number(index),
      active: true,
      type: slot.type,
      kdf: slot.kdf.type,
      kdfHash: slot.kdf.hash,
      iterations: slot.kdf.iterations,
      time: slot.kdf.time,
      memory: slot.kdf.memory,
      cpus: slot.kdf.cpus,
      keyMaterialOffset: Number(slot.area.offset),
      keyMaterialSize: Number(slot.area.size),
      stripes: slot.af.stripes,
      afHash: slot.af.hash,
      keySize: slot.key_size,
      encryption: slot.area.encryption,
      priority: slot.priority,
    })),
  );
  expect(details.activeKeySlots).toEqual(Object.keys(json.keyslots).map(Number));
  expect(details.segments).toEqual(
    Object.entries(json.segments).map(([index, segment]) => ({
      segment: Number(index),
      type: segment.type,
      offset: Number(segment.offset),
      size: segment.size === 'dynamic' ? 'dynamic' : Number(segment.size),
      encryption: segment.encryption,
      sectorSize: segment.sector_size,
      flags: segment.flags ?? [],
    })),
  );
  const [segment] = Object.values(json.segments);
  const [digest] = Object.values(json.digests);
  expect(`${details.cipherName}-${details.cipherMode}`).toBe(segment?.encryption);
  expect(details.payloadOffset).toBe(Number(segment?.offset));
  expect(details.hashSpec).toBe(digest?.hash);
  expect(details.masterKeyDigestIterations).toBe(digest?.iterations);
  expect(details.keyBytes).toBe(Object.values(json.keyslots)[0]?.key_size);
  expect(details.tokens).toBe(Object.keys(json.tokens).length);
  expect(details.config).toEqual({
    jsonSize: Number(json.config.json_size),
    keyslotsSize: Number(json.config.keyslots_size),
    flags: json.config.flags ?? [],
    requirements: json.config.requirements?.mandatory ?? [],
  });
  expect(details.secondaryHeader).toBe(true);
}


// ---------------------------------------------------------------------------------------

describe('luks fixtures against the recorded cryptsetup luksDump', () => {
  for (const fixture of luksFixtures) {
    const dump = fixture.sidecar('luksdump.txt');
    if (dump === undefined) continue;
    it(`${fixture.name}: agrees with luksDump`, async () => {
      const info = await introspectLuks(fixture.bytes());
      const json = fixture.sidecar('luksdump.json');
      if (json === undefined) expectLuks1AgreesWithDump(info, dump);
      else expectLuks2AgreesWithDump(info, dump, JSON.parse(json) as DumpJson);
    });
  }
});

describe('luks details read from the bytes', () => {
  it('reads the LUKS1 header qemu-img writes', async () => {
    const info = await introspectLuks(fixtureBytes('qemu-default.luks'));
    expect(info.details).toMatchObject({
      version: 1,
      cipherName: 'aes',
      cipherMode: 'xts-plain64',
      hashSpec: 'sha256',
      // qemu: 8 key slots of 4000 x 64 bytes, each aligned to 4 KiB, after the first 4 KiB.
      payloadOffset: 4096 + 8 * 258048,
      keyBytes: 64,
      label: undefined,
      activeKeySlots: [0],
      headerSize: 592,
      segments: undefined,
    });
    expect(info.details.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(info.details.keySlots[0]).toMatchObject({ slot: 0, active: true, kdf: 'pbkdf2', keyMaterialOffset: 4096, keyMaterialSize: 256000, stripes: 4000 });
    expect(info.virtualSize).toBe(1024 * 1024);
    expect(info.warnings).toEqual([]);
  });

  it('reads a LUKS1 volume with a killed first slot', async () => {
    const info = await introspectLuks(fixtureBytes('cryptsetup-luks1-slots.img'));
    expect(info.details.activeKeySlots).toEqual([1, 5]);
    expect(info.details).toMatchObject({ cipherName: 'aes', cipherMode: 'cbc-essiv:sha256', hashSpec: 'sha512', keyBytes: 32 });
  });

  it('reads a detached LUKS1 header: payload offset 0, with a warning', async () => {
    const bytes = fixtureBytes('cryptsetup-luks1-detached.hdr');
    const info = await introspectLuks(bytes);
    expect(info.details.payloadOffset).toBe(0);
    expect(info.virtualSize).toBe(bytes.byteLength);
    expect(info.warnings).toEqual([
      "payload offset 0: a detached header, whose data is on another device (the size given is this file's)",
    ]);
  });

  it('reads a LUKS2 volume: label, subsystem, argon2id key slot, dynamic segment', async () => {
    const bytes = fixtureBytes('cryptsetup-luks2.img');
    const info = await introspectLuks(bytes);
    expect(info.details).toMatchObject({
      version: 2,
      label: 'fixture volume',
      subsystem: 'tests',
      cipherName: 'aes',
      cipherMode: 'xts-plain64',
      keyBytes: 64,
      hashSpec: 'sha256',
      headerSize: 16384,
      checksumAlgorithm: 'sha256',
      payloadOffset: 16 * 1024 * 1024,
      activeKeySlots: [0],
      secondaryHeader: true,
    });
    expect(info.details.keySlots[0]).toMatchObject({ kdf: 'argon2id', time: 4, memory: 32, iterations: undefined });
    expect(info.virtualSize).toBe(bytes.byteLength - 16 * 1024 * 1024);
    expect(info.warnings).toEqual([]);
  });

  it('reads a LUKS2 volume with a small metadata area, 4 KiB sectors and two pbkdf2 slots', async () => {
    const info = await introspectLuks(fixtureBytes('cryptsetup-luks2-small.img'));
    expect(info.details.activeKeySlots).toEqual([0, 1]);
    expect(info.details.segments?.[0]?.sectorSize).toBe(4096);
    expect(info.details.keySlots.map((slot) => slot.kdf)).toEqual(['pbkdf2', 'pbkdf2']);
    expect(info.details.keyBytes).toBe(32);
    expect(info.details.label).toBeUndefined();
  });

  it('uses a LUKS2 segment\'s declared size when it is not dynamic', async () => {
    const bytes = fixtureBytes('cryptsetup-luks2-small.img').slice();
    const text = new TextDecoder('latin1').decode(bytes.subarray(4096, 16384));
    const at = 4096 + text.indexOf('"size":"dynamic"') + '"size":"'.length;
    bytes.set(new TextEncoder().encode('1048576'), at);
    const info = await introspectLuks(bytes);
    expect(info.details.segments?.[0]?.size).toBe(1048576);
    expect(info.virtualSize).toBe(1048576);
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectLuks(fixtureBytes('cryptsetup-luks2.img'));
    const summary = Object.fromEntries(luks.summarize?.(info.details) ?? []);
    expect(summary).toMatchObject({ version: 2, cipher: 'aes-xts-plain64', 'key size': 512, label: 'fixture volume', 'active key slots': '0' });
  });
});

describe('luks errors and warnings', () => {
  const patchedLuks2 = (edit: (json: string) => string): Uint8Array => {
    const bytes = fixtureBytes('cryptsetup-luks2-small.img').slice();
    const area = bytes.subarray(4096, 16384);
    const text = new TextDecoder().decode(area).replace(/\0+$/, '');
    const edited = new TextEncoder().encode(edit(text));
    area.fill(0);
    area.set(edited.subarray(0, area.byteLength));
    return bytes;
  };

  it('rejects a truncated header with TRUNCATED', async () => {
    for (const name of ['qemu-default.luks', 'cryptsetup-luks2.img']) await rejects(fixtureBytes(name).subarray(0, 500), 'TRUNCATED', 'header');
    await rejects(fixtureBytes('cryptsetup-luks2.img').subarray(0, 10000), 'TRUNCATED', 'json area');
  });

  it('rejects an unknown version with UNSUPPORTED (not raw: the magic says LUKS)', async () => {
    const bytes = fixtureBytes('qemu-default.luks').slice();
    bytes[7] = 3;
    await rejects(bytes, 'UNSUPPORTED', 'header.version');
  });

  it('rejects an invalid LUKS2 header size with CORRUPT', async () => {
    const bytes = fixtureBytes('cryptsetup-luks2.img').slice();
    new DataView(bytes.buffer).setBigUint64(8, 20000n);
    await rejects(bytes, 'CORRUPT', 'header.headerSize');
  });

  it('rejects JSON that does not parse, or has the wrong types, with CORRUPT naming the field', async () => {
    const cases: Array<[(json: string) => string, string]> = [
      [(json) => json.slice(0, 100), 'json'],
      [(json) => json.replace('"offset":"1048576"', '"offset":1048576'), 'json.segments.0.offset'],
      [(json) => json.replace('"offset":"1048576"', '"offset":"-5"'), 'json.segments.0.offset'],
      [(json) => json.replace('"key_size":32', '"key_size":"32"'), 'json.keyslots.0.key_size'],
      [(json) => json.replace('"keyslots":{', '"keyslots":{"x":{},'), 'json.keyslots.x'],
      [(json) => json.replace(/"config":\{[^}]*\}/, '"config":[]'), 'json.config'],
    ];
    for (const [edit, field] of cases) await rejects(patchedLuks2(edit), 'CORRUPT', field);
  });

  it('rejects more than 32 key slots with LIMIT_EXCEEDED', async () => {
    const extra = Array.from({ length: 40 }, (_, index) => `"${index + 100}":{}`).join(',');
    await rejects(patchedLuks2((json) => json.replace('"keyslots":{', `"keyslots":{${extra},`)), 'LIMIT_EXCEEDED', 'json.keyslots');
  });

  it('warns about a LUKS1 layout qemu would refuse', async () => {
    const bytes = fixtureBytes('qemu-default.luks').slice();
    const view = new DataView(bytes.buffer);
    view.setUint32(208 + 48 + 44, 3999); // slot 1 stripes
    view.setUint32(208 + 2 * 48, 0x1234); // slot 2 state
    view.setUint32(208 + 3 * 48 + 40, 1); // slot 3 key material inside the header
    const info = await introspectLuks(bytes);
    expect(info.warnings).toEqual(
      expect.arrayContaining([
        'key slot 1: 3999 stripes (LUKS1 uses 4000)',
        'key slot 2: state 0x1234 is neither enabled nor disabled (qemu refuses the image)',
        'key slot 3: key material overlaps the header',
      ]),
    );
    expect(info.details.keySlots[2]?.active).toBe(false);
  });

  it('reports a payload beyond the end of the image as empty, with a warning', async () => {
    const info = await introspectLuks(fixtureBytes('qemu-default.luks').subarray(0, 100_000));
    expect(info.virtualSize).toBe(0);
    expect(info.warnings.join('\n')).toMatch(/ends before the payload offset 2068480/);
  });

  it('warns when the LUKS2 secondary header is missing', async () => {
    const bytes = fixtureBytes('cryptsetup-luks2-small.img').slice();
    bytes.fill(0, 16384, 16384 + 6);
    const info = await introspectLuks(bytes);
    expect(info.details.secondaryHeader).toBe(false);
    expect(info.warnings).toEqual(['no secondary header at 16384']);
  });

  it('does not count a reencrypt key slot as active', async () => {
    const bytes = patchedLuks2((json) => {
      const second = json.indexOf('"1":{"type":"luks2"');
      expect(second).toBeGreaterThan(0);
      return `${json.slice(0, second)}"1":{"type":"reencrypt"${json.slice(second + '"1":{"type":"luks2"'.length)}`;
    });
    const info = await introspectLuks(bytes);
    expect(info.details.keySlots.map((slot) => [slot.slot, slot.type, slot.active])).toEqual([
      [0, 'luks2', true],
      [1, 'reencrypt', false],
    ]);
    expect(info.details.activeKeySlots).toEqual([0]);
  });

  it('does not claim the secondary magic at the start', async () => {
    const bytes = fixtureBytes('cryptsetup-luks2-small.img').slice(16384);
    expect((await run(bytes)).format).toBe('raw');
  });
});

// ---------------------------------------------------------------------------------------

describe.skipIf(!hasQemuImg)(`luks against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work, path: pathOf, agrees } = scratch('luks');

  const qemuCreate = (path: string, options: string, size: string): void => {
    const args = ['create', '-q', '-f', 'luks', '--object', 'secret,id=sec0,data=123456', '-o', `key-secret=sec0,iter-time=50${options}`, path, size];
    // A short iter-time sometimes fails qemu's PBKDF2 benchmark ("Unable to get accurate CPU usage").
    for (let attempt = 0; ; attempt += 1) {
      try {
        qemuImg(args);
        return;
      } catch (error) {
        if (attempt >= 4) throw error;
      }
    }
  };

  // Each qemu-img create runs qemu's PBKDF2 benchmark (seconds): few cases, each varying much.
  const cases = [
    { name: 'default', options: '', size: '4M' },
    { name: 'odd', options: ',cipher-alg=aes-128,hash-alg=sha512', size: '1000000' },
    { name: 'cbc-essiv', options: ',cipher-alg=aes-256,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1', size: '1M' },
  ];
  for (const testCase of cases) {
    it(`${testCase.name}: format, size, cipher, hash, uuid, payload offset and slots agree`, async () => {
      qemuCreate(pathOf(`${testCase.name}.luks`), testCase.options, testCase.size);
      const info = await agrees(`${testCase.name}.luks`);
      // qemu-img writes the payload at the size asked for, 1000000 bytes; its info says 1000448.
      if (testCase.name === 'odd') expect(info.virtualSize).toBe(1000000);
    });
  }

  it('LUKS2 is raw to qemu 7.2, LUKS to us', async () => {
    if (!hasCryptsetup) return;
    const path = join(work, 'luks2.img');
    writeFileSync(join(work, 'key'), 'passphrase');
    sparseFile(path, 20 * 1024 * 1024);
    cryptsetup(['luksFormat', '--type', 'luks2', '--batch-mode', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', join(work, 'key'), path]);
    expect(qemuInfo(path).format).toBe('raw');
    expect((await agrees('luks2.img')).format).toBe('luks');
  });
});

/** An empty (sparse) file of `size` bytes to format. */
function sparseFile(path: string, size: number): void {
  writeFileSync(path, '');
  truncateSync(path, size);
}

function cryptsetup(args: string[]): string {
  const result = spawnSync('cryptsetup', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cryptsetup ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describe.skipIf(!hasCryptsetup)(`luks against cryptsetup luksDump at test time${hasCryptsetup ? '' : ` (skipped: ${cryptsetupMissing})`}`, () => {
  const { work } = scratch('luks-cryptsetup');
  const keyFile = join(work, 'key');
  writeFileSync(keyFile, 'passphrase');
  const fast = ['--batch-mode', '--pbkdf-force-iterations', '1000', '--key-file', keyFile];

  const luks1Cases = [
    { name: 'luks1-default', options: [] },
    { name: 'luks1-cbc', options: ['--cipher', 'aes-cbc-essiv:sha256', '--key-size', '128', '--hash', 'sha1'] },
    { name: 'luks1-xts-256', options: ['--cipher', 'aes-xts-plain64', '--key-size', '256', '--hash', 'sha512'] },
    { name: 'luks1-aligned', options: ['--align-payload', '8192'] },
  ];
  for (const testCase of luks1Cases) {
    it(`${testCase.name}: agrees with luksDump and qemu-img info`, async () => {
      const path = join(work, `${testCase.name}.img`);
      sparseFile(path, 6 * 1024 * 1024);
      cryptsetup(['luksFormat', '--type', 'luks1', '--pbkdf', 'pbkdf2', ...fast, ...testCase.options, path]);
      const info = (await introspectFile(path, { formats })) as LuksInfo;
      expectLuks1AgreesWithDump(info, cryptsetup(['luksDump', path]));
      if (hasQemuImg) expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
      expect(info.virtualSize).toBe(6 * 1024 * 1024 - info.details.payloadOffset);
    });
  }

  const luks2Cases = [
    { name: 'luks2-pbkdf2', options: ['--pbkdf', 'pbkdf2'] },
    { name: 'luks2-argon2i', options: ['--pbkdf', 'argon2i', '--pbkdf-memory', '64', '--label', 'disk \u00e9', '--subsystem', 'sub'] },
    { name: 'luks2-argon2id-64k', options: ['--pbkdf', 'argon2id', '--pbkdf-memory', '32', '--luks2-metadata-size', '64k', '--luks2-keyslots-size', '1m'] },
    { name: 'luks2-cbc-512', options: ['--pbkdf', 'pbkdf2', '--cipher', 'aes-cbc-essiv:sha256', '--key-size', '256', '--sector-size', '512'] },
  ];
  for (const testCase of luks2Cases) {
    it(`${testCase.name}: agrees with luksDump and its JSON metadata`, async () => {
      const path = join(work, `${testCase.name}.img`);
      sparseFile(path, 20 * 1024 * 1024);
      const iterations = testCase.options.includes('pbkdf2') ? [] : ['--pbkdf-force-iterations', '4'];
      cryptsetup(['luksFormat', '--type', 'luks2', ...fast, ...testCase.options, ...iterations, path]);
      const info = (await introspectFile(path, { formats })) as LuksInfo;
      const json = JSON.parse(cryptsetup(['luksDump', '--dump-json-metadata', path])) as DumpJson;
      expectLuks2AgreesWithDump(info, cryptsetup(['luksDump', path]), json);
      expect(info.virtualSize).toBe(20 * 1024 * 1024 - info.details.payloadOffset);
    });
  }

  it('LUKS2 with added and removed key slots, read as a stream', async () => {
    const path = join(work, 'luks2-slots.img');
    sparseFile(path, 20 * 1024 * 1024);
    cryptsetup(['luksFormat', '--type', 'luks2', '--pbkdf', 'pbkdf2', ...fast, path]);
    const second = join(work, 'key2');
    writeFileSync(second, 'another');
    cryptsetup(['luksAddKey', '--pbkdf', 'pbkdf2', ...fast, '--key-slot', '3', path, second]);
    cryptsetup(['luksKillSlot', '--batch-mode', '--key-file', second, path, '0']);
    const bytes = new Uint8Array(readFileSync(path));
    const info = (await run(makeSource('node-readable', bytes))) as LuksInfo;
    expect(info.details.activeKeySlots).toEqual([3]);
    const json = JSON.parse(cryptsetup(['luksDump', '--dump-json-metadata', path])) as DumpJson;
    expectLuks2AgreesWithDump(info, cryptsetup(['luksDump', path]), json);
  });
});
