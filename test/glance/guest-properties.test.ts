/**
 * `glanceProperties` from an inspected guest (`info.guest`): only values Glance, Nova and
 * libosinfo accept, each checked by hand against their vocabularies (Glance's documented
 * `os_distro` list, libosinfo's `<distro>` names, Nova's `fields.Architecture`, libvirt's
 * `os_type` and `hw_firmware_type`). The guests built at test time are covered end to end in
 * `test/guest/inspect.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { glanceProperties } from '../../src/glance/properties.js';
import type { GuestFacts } from '../../src/glance/guest-properties.js';

function propertiesOf(guest: GuestFacts, osDistro: 'glance' | 'libosinfo' = 'glance') {
  const all = glanceProperties({ format: 'raw', virtualSize: 1 << 30, details: {}, guest }, { osDistro });
  return Object.fromEntries(Object.entries(all).filter(([key]) => ['os_type', 'os_distro', 'os_version', 'architecture', 'hw_firmware_type'].includes(key)));
}

describe('Glance properties of an inspected guest', () => {
  it('names a RHEL-family guest in both vocabularies', () => {
    const guest: GuestFacts = { firmware: 'uefi', os: { type: 'linux', distro: 'rhel', version: '9.4', arch: 'x86_64', osinfo: 'rhel9.4' } };
    expect(propertiesOf(guest)).toEqual({ os_type: 'linux', os_distro: 'rhel', os_version: '9.4', architecture: 'x86_64', hw_firmware_type: 'uefi' });
    expect(propertiesOf(guest, 'libosinfo')).toEqual({ os_type: 'linux', os_distro: 'rhel9.4', os_version: '9.4', architecture: 'x86_64', hw_firmware_type: 'uefi' });
  });

  it("uses Glance's name where libguestfs's differs, libosinfo's where Glance has none", () => {
    expect(propertiesOf({ os: { type: 'linux', distro: 'archlinux', arch: 'x86_64' } }).os_distro).toBe('arch');
    expect(propertiesOf({ os: { type: 'linux', distro: 'sles', version: '15.5' } }).os_distro).toBe('sles');
    expect(propertiesOf({ os: { type: 'linux', distro: 'oraclelinux' } }).os_distro).toBe('ol');
  });

  it('leaves out what the vocabularies do not have', () => {
    // A BSD is neither linux nor windows for libvirt's os_type; libguestfs's `arm` names no ARM version; RISC-V is not in Nova's list.
    expect(propertiesOf({ os: { type: 'freebsd', distro: 'freebsd', version: '14.0', arch: 'riscv64' } })).toEqual({ os_distro: 'freebsd', os_version: '14.0' });
    expect(propertiesOf({ os: { type: 'linux', distro: 'linuxmint', arch: 'arm' } })).toEqual({ os_type: 'linux' });
    expect(propertiesOf({ os: { type: 'linux', distro: 'unknown', arch: 'i386' } })).toEqual({ os_type: 'linux', architecture: 'i686' });
    // libosinfo's vocabulary without a short id: no os_distro rather than a guess.
    expect(propertiesOf({ os: { type: 'linux', distro: 'debian' } }, 'libosinfo')).toEqual({ os_type: 'linux' });
  });

  it('gives nothing for an unavailable inspection or a disk without an operating system, but the firmware when known', () => {
    expect(propertiesOf({ unavailable: 'the disk is encrypted (LUKS)' })).toEqual({});
    expect(propertiesOf({ firmware: 'bios' })).toEqual({ hw_firmware_type: 'bios' });
  });
});
