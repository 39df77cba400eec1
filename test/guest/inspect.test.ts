/**
 * Guest inspection on guests built at test time (`test/helpers/guest-images.ts`): Debian
 * (arm64, UEFI), Ubuntu (BIOS, swap), Fedora on XFS (ppc64le), Rocky on LVM (s390x), Alpine
 * (i386 busybox), openSUSE on Btrfs with the `@` layout, Windows Server on NTFS with registry
 * hives. Each is compared with what it was built to be, and with `virt-inspector` run on
 * the same disk (once per disk, under TCG, cached). The image is read through
 * `introspectFile` with `inspectGuest: true`, wrapped in each format of {@link WRAPPERS}.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { introspectFile } from '../../src/node.js';
import { VHDX_HEADER_SIZE } from '../../formats/generated/vhdx.js';
import { VHDX_REGION_TABLE_SIZE } from '../../formats/vhdx.js';
import { glanceProperties } from '../../src/glance/properties.js';
import { type GuestInfo, type GuestOs, isGuestInfo } from '../../src/guest-inspection.js';
import { type GuestSpec, GUESTS, type VirtInspectorOs, allocatedBytes, guestDisk, parseVirtInspector, sh, virtInspector, virtInspectorUnavailable } from '../helpers/guest-images.js';

/**
 * How the raw guest disk is presented to the library: as it is, and converted by `qemu-img`
 * to each format whose guest disk the library maps. Each is compared with virt-inspector:
 * run on that same file for raw, and for qcow2 on {@link VIRT_INSPECTOR_QCOW2_GUESTS}; the
 * other conversions hold the same guest bytes and are compared with virt-inspector's answer
 * on the raw disk (each virt-inspector run boots its appliance under TCG: minutes per file
 * on this machine).
 */
const WRAPPERS: ReadonlyArray<{ name: string; wrap(disk: string): string }> = [
  { name: 'raw', wrap: (disk) => disk },
  { name: 'qcow2', wrap: (disk) => convert(disk, 'qcow2') },
  { name: 'vdi', wrap: (disk) => convert(disk, 'vdi') },
  { name: 'vpc', wrap: (disk) => convert(disk, 'vpc') },
  { name: 'vhdx', wrap: (disk) => convert(disk, 'vhdx') },
  { name: 'vmdk', wrap: (disk) => convert(disk, 'vmdk') },
  { name: 'vmdk streamOptimized', wrap: (disk) => convert(disk, 'vmdk', ['subformat=streamOptimized']) },
];

/** The guests whose qcow2 conversion virt-inspector reads itself (one Linux on GPT+UEFI, one small Linux on MBR). */
const VIRT_INSPECTOR_QCOW2_GUESTS: ReadonlySet<string> = new Set(['debian12-arm64-uefi', 'alpine319-i386']);

/**
 * What a format may read beyond what the guest needs from its disk: its header and the table
 * entries the guest's reads need, 16 KiB (a qcow2 probe of 4 KiB, L1 and L2 entries of 8 bytes;
 * a VMDK's header and its embedded descriptor, 10 KiB as qemu-img writes it, grain directory
 * and table entries of 4 bytes; a VHD's footer, dynamic header and BAT entries; a VDI's header
 * and block map entries). Whole tables (a 64 KiB qcow2 L2 table) do not fit in it.
 */
const FORMAT_OVERHEAD_BYTES = 16 * 1024;

/**
 * VHDX's structures that are read whole because their CRC-32C covers them whole ([MS-VHDX]
 * 2.2.2, 2.2.3): the two 4 KiB headers and the 64 KiB region table.
 */
const VHDX_CHECKSUMMED_BYTES = 2 * VHDX_HEADER_SIZE + VHDX_REGION_TABLE_SIZE;

/** `qemu-img convert` of the raw disk to `format` (cached beside it). */
export function convert(disk: string, format: string, options: string[] = []): string {
  const target = `${disk}.${format}${options.length === 0 ? '' : `-${options.join('-').replace(/[^a-z0-9]+/gi, '_')}`}`;
  if (!existsSync(target)) sh('qemu-img', ['convert', '-f', 'raw', '-O', format, ...(options.length === 0 ? [] : ['-o', options.join(',')]), disk, target]);
  return target;
}

/**
 * The Glance properties each guest must give (hand-derived from what the guest was built to
 * be: Glance's `os_distro` names, libosinfo's `alpinelinux` where Glance documents none; Nova's `i686` for libguestfs's
 * `i386`), in the `glance` vocabulary and in the `libosinfo` one (`os_distro` = the short id).
 */
const GLANCE: Readonly<Record<string, Record<string, string>>> = {
  'debian12-arm64-uefi': { os_type: 'linux', os_distro: 'debian', os_version: '12.5', architecture: 'aarch64', hw_firmware_type: 'uefi' },
  'ubuntu2204-x86_64-bios': { os_type: 'linux', os_distro: 'ubuntu', os_version: '22.04', architecture: 'x86_64', hw_firmware_type: 'bios' },
  'fedora39-ppc64le-xfs': { os_type: 'linux', os_distro: 'fedora', os_version: '39', architecture: 'ppc64le', hw_firmware_type: 'bios' },
  'rocky93-s390x-lvm': { os_type: 'linux', os_distro: 'rocky', os_version: '9.3', architecture: 's390x', hw_firmware_type: 'bios' },
  'alpine319-i386': { os_type: 'linux', os_distro: 'alpinelinux', os_version: '3.19', architecture: 'i686', hw_firmware_type: 'bios' },
  'opensuse155-btrfs': { os_type: 'linux', os_distro: 'opensuse', os_version: '15.5', architecture: 'x86_64', hw_firmware_type: 'uefi' },
  'windows2022-ntfs-uefi': { os_type: 'windows', os_distro: 'windows', os_version: '10.0', architecture: 'x86_64', hw_firmware_type: 'uefi' },
};
const GLANCE_KEYS = ['os_type', 'os_distro', 'os_version', 'architecture', 'hw_firmware_type'];

function guestGlanceProperties(properties: Record<string, string | number>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(properties).filter(([key]) => GLANCE_KEYS.includes(key)));
}

/**
 * Where virt-inspector 1.48 (Debian's, on this machine) writes a device name this library
 * deliberately writes otherwise, its answer is rewritten from its own output before comparing:
 *
 * | virt-inspector writes | why | compared as |
 * | --- | --- | --- |
 * | `btrfsvol:/dev/sdb2//@/var` while naming the root and the file system `/dev/sda2` | the appliance kernel's device for the Btrfs file system, not canonicalised | the root's disk, same partition and subvolume |
 * | `/dev/disk/by-uuid/U` as the guest's fstab spells it (mount point and file-system list) | 1.48 resolves `UUID=` but not this path | the device that holds the file system with UUID `U` (this library resolves both, as `blkid -U` would) |
 *
 * virt-inspector also lists each Btrfs subvolume it mounts as a file system; this library lists
 * the Btrfs file system once, on its device: a subvolume entry is compared with that one.
 */
function asThisLibraryNames(device: string, reference: VirtInspectorOs, ours: GuestInfo['filesystems']): string {
  const rootDisk = reference.root?.match(/^\/dev\/sd[a-z]/)?.[0];
  if (rootDisk !== undefined) device = device.replace(/^btrfsvol:\/dev\/sd[a-z](\d+)\/\//, (_whole, partition: string) => `btrfsvol:${rootDisk}${partition}//`);
  const byUuid = device.match(/^\/dev\/disk\/by-uuid\/(.+)$/)?.[1];
  return (byUuid === undefined ? undefined : ours.find((fs) => fs.uuid?.toLowerCase() === byUuid.toLowerCase())?.device) ?? device;
}

/**
 * The OS fields virt-inspector and this library both report, under this library's names
 * ({@link GuestOs}). virt-inspector prints a version it does not know as 0 (compared as 0 on
 * both sides) and a package format or manager it does not know as `unknown`, where this
 * library leaves the field out.
 */
function inThisLibraryTerms(reference: VirtInspectorOs) {
  const known = (value: string | undefined): string | undefined => (value === 'unknown' ? undefined : value);
  return {
    root: reference.root,
    type: reference.name,
    distro: reference.distro,
    arch: reference.arch,
    productName: reference.product_name,
    major: reference.major_version ?? 0,
    minor: reference.minor_version ?? 0,
    hostname: reference.hostname,
    osinfo: reference.osinfo,
    packageFormat: known(reference.package_format),
    packageManagement: known(reference.package_management),
  } satisfies Partial<Record<keyof GuestOs, unknown>>;
}

/** The `fields` of `object`, for one `toEqual` over several of them. */
function fieldsOf<Value, Field extends keyof Value>(object: Value, fields: readonly Field[]): Pick<Value, Field> {
  return Object.fromEntries(fields.map((field) => [field, object[field]])) as Pick<Value, Field>;
}

function expectIdentified(guest: GuestInfo, spec: GuestSpec): void {
  const { expected } = spec;
  const os = guest.os;
  expect(os, `${spec.name}: no operating system found (warnings: ${guest.warnings.join('; ')})`).toBeDefined();
  if (os === undefined) return;
  const identity = ['type', 'distro', 'version', 'major', 'minor', 'productName', 'arch', 'hostname', 'osinfo', 'root'] as const;
  expect(fieldsOf(os, identity)).toEqual(fieldsOf(expected, identity));
  if (expected.productVariant !== undefined) expect(os.productVariant).toBe(expected.productVariant);
  if (expected.buildId !== undefined) expect(os.buildId).toBe(expected.buildId);
  expect(Object.fromEntries(os.mountpoints.map((mountpoint) => [mountpoint.path, mountpoint.device]))).toEqual(expected.mountpoints);
  expect(guest.firmware).toBe(expected.firmware);
  if (expected.efiBootLoaders !== undefined) {
    expect(Object.fromEntries((guest.efiSystemPartition?.bootLoaders ?? []).map((loader) => [loader.path, loader.arch]))).toEqual(expected.efiBootLoaders);
  }
  if (expected.driveMappings !== undefined) {
    expect(Object.fromEntries((os.windows?.driveMappings ?? []).map((mapping) => [mapping.drive, mapping.device]))).toEqual(expected.driveMappings);
  }
}

for (const spec of GUESTS) {
  const why = spec.unavailable();
  describe.skipIf(why !== undefined)(`guest ${spec.name}${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
    let disk = '';
    beforeAll(() => {
      disk = guestDisk(spec);
    }, 1_800_000);

    for (const wrapper of WRAPPERS) {
      it(`is identified through ${wrapper.name}, reading under 5 % of the guest's allocated bytes, and the format no more than its header and the entries it needs`, async () => {
        const image = wrapper.wrap(disk);
        const info = await introspectFile(image, { inspectGuest: true });
        const guest = info.guest;
        expect(isGuestInfo(guest), JSON.stringify(guest)).toBe(true);
        if (!isGuestInfo(guest)) return;
        expectIdentified(guest, spec);
        const glance = GLANCE[spec.name];
        expect(glance, `no Glance expectation for ${spec.name}`).toBeDefined();
        expect(guestGlanceProperties(glanceProperties(info))).toEqual(glance);
        const { os_distro: _glanceName, ...rest } = glance ?? {};
        expect(guestGlanceProperties(glanceProperties(info, { osDistro: 'libosinfo' }))).toEqual({ ...rest, os_distro: spec.expected.osinfo });
        const allocated = allocatedBytes(image);
        console.log(`${spec.name} (${wrapper.name}): guest inspection read ${guest.bytesRead} bytes of ${allocated} allocated (${((100 * guest.bytesRead) / allocated).toFixed(2)} %), the whole introspection ${info.bytesRead}`);
        // The guest's disk: under 5 % of what its file systems allocate (the raw disk's allocated
        // bytes; a conversion drops the blocks of zeros mkfs wrote, which makes a tiny guest's
        // share look larger without reading more).
        expect(guest.bytesRead).toBeLessThan(allocatedBytes(disk) * 0.05);
        if (wrapper.name === 'raw') {
          expect(info.bytesRead).toBeLessThan(allocated * 0.05);
        } else {
          // Through a format: what the same inspection reads from the raw disk, plus the format's
          // header and table entries (compressed grains cost what they hold: at most that).
          const straight = await introspectFile(disk, { inspectGuest: true });
          const overhead = FORMAT_OVERHEAD_BYTES + (wrapper.name === 'vhdx' ? VHDX_CHECKSUMMED_BYTES : 0);
          expect(info.bytesRead).toBeLessThan(straight.bytesRead + overhead);
        }
      });
    }

    const noInspector = virtInspectorUnavailable();
    for (const wrapper of WRAPPERS) {
      const same = wrapper.name === 'raw' || (wrapper.name === 'qcow2' && VIRT_INSPECTOR_QCOW2_GUESTS.has(spec.name));
      it.skipIf(noInspector !== undefined)(`through ${wrapper.name}, agrees with virt-inspector on ${same ? 'the same file' : 'the raw disk'}${noInspector === undefined ? '' : ` (skipped: ${noInspector})`}`, async () => {
        const image = wrapper.wrap(disk);
        const reference = parseVirtInspector((same ? virtInspector(image, wrapper.name) : virtInspector(disk)).xml);
        expect(reference, 'virt-inspector found no operating system').toBeDefined();
        if (reference === undefined) return;
        const info = await introspectFile(image, { inspectGuest: true });
        const guest = info.guest;
        if (!isGuestInfo(guest) || guest.os === undefined) throw new Error(`no guest: ${JSON.stringify(guest)}`);
        const os = guest.os;
        const theirs = inThisLibraryTerms(reference);
        expect({
          ...fieldsOf(os, Object.keys(theirs) as Array<keyof typeof theirs>),
          major: os.major ?? 0,
          minor: os.minor ?? 0,
          mountpoints: Object.fromEntries(os.mountpoints.map((mountpoint) => [mountpoint.path, mountpoint.device])),
        }).toEqual({
          ...theirs,
          mountpoints: Object.fromEntries(Object.entries(reference.mountpoints).map(([path, device]) => [path, asThisLibraryNames(device, reference, guest.filesystems)])),
        });
        if (reference.product_variant !== undefined && reference.product_variant !== 'unknown') expect(os.productVariant).toBe(reference.product_variant);
        if (reference.build_id !== undefined && reference.build_id !== 'unknown') expect(os.buildId).toBe(reference.build_id);
        if (reference.windows_systemroot !== undefined) expect(os.windows?.systemRoot).toBe(reference.windows_systemroot);
        expect(Object.fromEntries((os.windows?.driveMappings ?? []).map((mapping) => [mapping.drive, mapping.device]))).toEqual(reference.drive_mappings);
        // Every file system virt-inspector lists for this OS, with its type, label and UUID.
        for (const [written, fs] of Object.entries(reference.filesystems)) {
          const device = asThisLibraryNames(written, reference, guest.filesystems).replace(/^btrfsvol:(\/dev\/[a-z0-9]+)\/\/.*$/, '$1');
          const ours = guest.filesystems.find((entry) => entry.device === device);
          expect(ours, `file system ${device}`).toBeDefined();
          expect({ type: ours?.type, label: ours?.label, uuid: ours?.uuid }, device).toEqual({ type: fs.type, label: fs.label, uuid: fs.uuid });
        }
      }, 1_200_000);
    }
  });
}

describe('guest inspection of a disk without a guest', () => {
  it('finds no operating system on an empty raw disk, and says why the others are unavailable', async () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `image-introspect-empty-${process.pid}`);
    sh('mkdir', ['-p', dir]);
    const empty = join(dir, 'empty.img');
    sh('truncate', ['-s', '8M', empty]);
    const info = await introspectFile(empty, { inspectGuest: true });
    expect(isGuestInfo(info.guest)).toBe(true);
    if (isGuestInfo(info.guest)) {
      expect(info.guest.os).toBeUndefined();
      expect(info.guest.filesystems).toEqual([{ device: '/dev/sda', type: 'unknown' }]);
    }
    // Through qcow2's tables (all unallocated: zeros), the same answer.
    const qcow2 = await introspectFile(convert(empty, 'qcow2'), { inspectGuest: true });
    expect(isGuestInfo(qcow2.guest) && qcow2.guest.os === undefined && qcow2.guest.filesystems.length === 1).toBe(true);
    // A format that maps no guest disk says why.
    const iso = join(dir, 'empty.iso');
    if (sh('sh', ['-c', 'command -v xorriso || true']).trim() !== '') {
      sh('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, '-V', 'EMPTY', dir]);
      const disc = await introspectFile(iso, { inspectGuest: true });
      expect(disc.guest).toEqual({ unavailable: 'an optical disc image holds installer media, not an installed guest (its volume id is what identifies it)' });
    }
    const without = await introspectFile(empty);
    expect(without.guest).toBeUndefined();
    sh('rm', ['-rf', dir]);
  });
});
