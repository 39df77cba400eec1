/**
 * The guest's rows in the text summary (`--inspect-guest`): a `guest` heading, then the
 * operating system as `virt-inspector` would name it, the firmware, the mount points and
 * the file systems; or the reason the guest could not be inspected.
 *
 * @module
 */
import type { GuestResult } from '../src/guest-inspection.js';
import type { SummaryRow } from '../src/summary.js';
import type { GuestOs } from './inspect.js';

/** What an operating system calls itself. */
function osLine(os: GuestOs): string {
  return os.productName ?? os.distro ?? os.type;
}

function osRows(os: GuestOs): SummaryRow[] {
  return [
    ['type', os.type],
    ['distro', os.distro],
    ['product', osLine(os)],
    ['version', os.version],
    ['variant', os.productVariant],
    ['build', os.buildId],
    ['osinfo', os.osinfo],
    ['arch', os.arch],
    ['hostname', os.hostname],
    ['root', os.root],
    ['system root', os.windows?.systemRoot],
    ...os.mountpoints.map(({ path, device }): SummaryRow => [`mount ${path}`, device]),
    ...(os.windows?.driveMappings ?? []).map(({ drive, device }): SummaryRow => [`drive ${drive}:`, device]),
  ];
}

/** The rows for `info.guest` (nothing when the option was off). */
export function guestSummaryRows(guest: GuestResult | undefined): SummaryRow[] {
  if (guest === undefined) return [];
  if ('unavailable' in guest) return [['guest', `not inspected: ${guest.unavailable}`]];
  const rows: SummaryRow[] = [
    ['operating system', guest.os === undefined ? 'none found' : undefined],
    ...(guest.os === undefined ? [] : osRows(guest.os)),
    ['firmware', guest.firmware === undefined ? undefined : `${guest.firmware} (${guest.firmwareReason ?? ''})`],
    ...(guest.efiSystemPartition?.bootLoaders ?? []).map(({ path, arch }): SummaryRow => [`efi loader ${path}`, arch ?? 'unknown architecture']),
    ...guest.filesystems.map((fs): SummaryRow => [`filesystem ${fs.device}`, [fs.type, fs.label === undefined ? undefined : `label ${JSON.stringify(fs.label)}`, fs.uuid === undefined ? undefined : `uuid ${fs.uuid}`, fs.role].filter((part) => part !== undefined).join(', ')]),
    ...(guest.otherOperatingSystems ?? []).map((os): SummaryRow => ['other operating system', `${osLine(os)} on ${os.root}`]),
    ['guest bytes read', guest.bytesRead],
    ...guest.warnings.map((warning): SummaryRow => ['guest warning', warning]),
  ];
  // One level in under the heading, as the summary's sections are (undefined rows are dropped when printed).
  return [['guest', ''], ...rows.map(([label, value]): SummaryRow => [`    ${label}`, value])];
}
