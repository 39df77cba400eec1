/**
 * The real-world images in ../shared/real-world (written by Windows, Hyper-V, VirtualBox,
 * VMware, Parallels, macOS and forensic test suites), against the `qemu-img info` result
 * the manifest records for each. Where we knowingly differ from qemu, the table below says
 * what we report instead and why; every other image must agree on format and size.
 */
import { describe, expect, it } from 'vitest';
import { type AnyFormatModule, allFormats, introspect, isIntrospectionError, type ImageInfo } from '../src/index.js';
import { loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from './helpers/fixtures.js';
import { ourFormatName } from './helpers/qemu-correspondence.js';
import { comparable, makeSource } from './helpers/sources.js';

/** What we report where qemu-img says something else, and why. */
interface Difference {
  format?: string;
  /** A number, or a function of the image's length. */
  virtualSize?: number | ((length: number) => number);
  /** For images qemu cannot open: the error code we give, if we give one. */
  errorCode?: string;
  why: string;
}

const differences: Record<string, Difference> = {
  'iso/dfvfs__iso9660.raw': {
    format: 'iso',
    virtualSize: 179 * 2048,
    why: 'qemu calls every ISO raw (it probes only the first 512 bytes); we read the ISO 9660 volume: 179 blocks of 2048 bytes',
  },
  'vhd/dfvfs__image.vhd': {
    format: 'vhd',
    virtualSize: 104448,
    why: 'qemu refuses the footer checksum; we report the disk (CHS 3/4/17, creator "qemu") with checksumValid false, and the checksum check fails',
  },
  'vhd/dfvfs__image-differential.vhd': {
    format: 'vhd',
    virtualSize: 104448,
    why: 'the same checksum as dfvfs__image.vhd; a differencing disk, which qemu cannot open anyway',
  },
  'vhd/node-vhd__fixed.vhd.gz': {
    format: 'vhd',
    virtualSize: (length) => length - 512,
    why: 'a fixed VHD: qemu probes only the first 512 bytes and says raw (with the footer counted); its footer is at the end',
  },
  'vhd/dissect__fixed.vhd.gz': {
    format: 'vhd',
    virtualSize: (length) => length - 512,
    why: 'a fixed VHD (see node-vhd__fixed.vhd.gz)',
  },
  'vhdx/dissect__differencing.avhdx.gz': {
    format: 'vhdx',
    virtualSize: 8 * 1024 * 1024 * 1024,
    why: 'a Hyper-V checkpoint (differencing VHDX): qemu 7.2 says "Operation not supported"; we read it, and the parent check fails',
  },
  'dmg/etcher-sdk__gpt-in-dmg.dmg': {
    format: 'dmg',
    virtualSize: 262144 * 512,
    why: 'the koly trailer says 0 sectors (qemu reports 0); the block tables, and the GPT inside, describe 128 MiB',
  },
  'vmdk/dissect__sesparse.vmdk.gz': {
    format: 'vmdk',
    virtualSize: 512 * 1024 * 1024,
    why: 'an ESXi SESparse extent: qemu opens these only through a descriptor and probes a bare one as raw; we read its header (capacity 1048576 sectors)',
  },
  'vmdk/go-vmdk-parser__vmdk-invalid.img': {
    format: 'vmdk',
    virtualSize: 65536,
    why: 'qemu refuses a sparse extent whose embedded descriptor has no CID; its header is whole, so we report it with a warning',
  },
};

const root = realWorldRoot();
const registered = new Set<string>(allFormats.map((format) => format.name));
const images = realWorldImages().filter((image) => !image.file.startsWith('fragments/'));

describe.skipIf(root === undefined)(`real-world images${root === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  it('finds the manifest and the images', () => {
    expect(images.length).toBeGreaterThan(40);
  });

  for (const image of images) {
    const qemuFormat = 'json' in image.qemu ? ourFormatName(image.qemu.json.format as string) : undefined;
    const difference = differences[image.file];
    // Where qemu-img failed, the folder names the format the image is meant to be.
    const folderFormat = image.file.split('/')[0];
    const concerns = difference?.format ?? qemuFormat ?? folderFormat;
    const pending = concerns !== undefined && !registered.has(concerns);
    it.skipIf(pending)(`${image.file}${pending ? ` (skipped: the ${concerns} module is not registered)` : ''}`, async () => {
      const bytes = loadBytes(image.path);
      const outcome: ImageInfo | unknown = await introspect(bytes).catch((error: unknown) => error);
      if (isIntrospectionError(outcome)) {
        expect(difference?.errorCode ?? 'qemu-img opened it', `${image.file}: ${outcome.message}`).toBe(outcome.code);
        return;
      }
      const info = outcome as ImageInfo;
      if (difference !== undefined) {
        if (difference.format !== undefined) expect(info.format).toBe(difference.format);
        const size = typeof difference.virtualSize === 'function' ? difference.virtualSize(bytes.byteLength) : difference.virtualSize;
        if (size !== undefined) expect(info.virtualSize).toBe(size);
      } else if ('json' in image.qemu) {
        expect(info.format).toBe(qemuFormat);
        if (info.format === 'raw') {
          // qemu rounds a raw file up to whole sectors; we report the exact byte count.
          expect(info.virtualSize).toBe(bytes.byteLength);
          expect(Math.ceil(bytes.byteLength / 512) * 512).toBe(image.qemu.json['virtual-size']);
        } else {
          expect(info.virtualSize).toBe(image.qemu.json['virtual-size']);
        }
      } else {
        throw new Error(`qemu-img could not open ${image.file} (${image.qemu.error}); add it to the differences with the reason`);
      }
      // The same answer from a stream as from random access.
      expect(comparable(await introspect(makeSource('async-iterable', bytes)))).toEqual(comparable(info));
    });
  }
});

/**
 * The verdicts: every real-world image gets one, and the unsafe ones are unsafe for a
 * reason a person would agree with. Everything not listed here must be safe.
 */
const unsafe: Record<string, Array<[check: string, reason: RegExp]>> = {
  'qcow2/dissect__backing-chain-1.qcow2.gz': [['backing_file', /backing-chain-2\.qcow2/]],
  'qcow2/dissect__backing-chain-2.qcow2.gz': [['backing_file', /backing-chain-3\.qcow2/]],
  'qcow2/dissect__data-file.qcow2.gz': [['data_file', /data-file\.bin/]],
  'vhd/dfvfs__fat-differential.vhd': [['parent', /fat-parent\.vhd/]],
  'vhd/dfvfs__image-differential.vhd': [['checksum', /footer checksum is wrong/], ['parent', /image\.vhd/]],
  'vhd/dfvfs__image.vhd': [['checksum', /footer checksum is wrong/]],
  'vhdx/dissect__differencing.avhdx.gz': [['parent', /\.avhdx/]],
  'vmdk/dissect__sesparse.vmdk.gz': [['descriptor', /bare SESparse extent/]],
  'vmdk/go-vmdk-parser__vmdk-invalid.img': [['descriptor', /no extents/]],
};

describe.skipIf(root === undefined)(`real-world verdicts${root === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  for (const image of images) {
    it(image.file, async () => {
      const info = (await introspect(loadBytes(image.path)).catch(() => undefined)) as ImageInfo | undefined;
      expect(info, `${image.file} gets a verdict`).toBeDefined();
      const failed = (info as ImageInfo).safety.checks.filter((check) => !check.passed);
      const expected = unsafe[image.file] ?? [];
      expect(failed.map((check) => check.name)).toEqual(expected.map(([name]) => name));
      for (const [name, reason] of expected) expect(failed.find((check) => check.name === name)?.reason).toMatch(reason);
      expect((info as ImageInfo).safety.safe).toBe(expected.length === 0);
    });
  }
});


/**
 * No format module claims another format's image: each module alone (with the fallback)
 * recognises an image only where the whole registry says it is that format. This catches a
 * detection that fires on the wrong bytes even where the registry's order hides it (a
 * signature checked after the format that wins).
 */
describe.skipIf(root === undefined)(`real-world images claimed by one module alone${root === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  const fallback = allFormats.filter((format) => format.fallback === true);
  const formatOf = async (bytes: Uint8Array, formats: readonly AnyFormatModule[]) =>
    introspect(bytes, { formats }).then(
      (info) => info.format,
      (error: unknown) => (isIntrospectionError(error) ? (error.format ?? error.code) : String(error)),
    );
  // Each image once: its bytes and what the whole registry calls it.
  let registryAnswers: Promise<Array<{ file: string; bytes: Uint8Array; format: string }>> | undefined;
  const answers = () => {
    registryAnswers ??= Promise.all(
      realWorldImages().map(async (image) => {
        const bytes = loadBytes(image.path);
        return { file: image.file, bytes, format: await formatOf(bytes, allFormats) };
      }),
    );
    return registryAnswers;
  };
  for (const module of allFormats.filter((format) => format.fallback !== true)) {
    it(`${module.name} claims only images the registry calls ${module.name}`, async () => {
      const wrongly: string[] = [];
      for (const image of await answers()) {
        if (image.format !== module.name && (await formatOf(image.bytes, [module, ...fallback])) === module.name) {
          wrongly.push(`${image.file} (the registry says ${image.format})`);
        }
      }
      expect(wrongly).toEqual([]);
    });
  }
});
