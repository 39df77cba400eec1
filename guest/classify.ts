/**
 * What one file system is in the guest, tested in libguestfs's order (`daemon/inspect_fs.ml`,
 * `check_filesystem`): the first rule that matches decides, and a root (or `/usr`) is then
 * identified by the checks of `unix-root.ts` and `windows.ts`.
 *
 * | order | markers | role |
 * | --- | --- | --- |
 * | 1 | `/grub/menu.lst`, `/grub/grub.conf` or `/grub2/grub.cfg` (a separate `/boot`) | other |
 * | 2 | dirs `/etc`, `/bin`; files `/etc/freebsd-update.conf`, `/etc/fstab` | FreeBSD root |
 * | 3 | dirs `/etc`, `/bin`; files `/netbsd`, `/etc/fstab`, `/etc/release` | NetBSD root |
 * | 4 | dirs `/etc`, `/bin`; files `/bsd`, `/etc/fstab`, `/etc/motd` | OpenBSD root |
 * | 5 | files `/hurd/console`, `/hurd/hello`, `/hurd/null` | Hurd root |
 * | 6 | dirs `/etc`, `/bin`; files `/service/vm`, `/etc/fstab`, `/etc/version` | Minix root |
 * | 7 | dir `/etc`; dir `/bin` or a link `/bin` → `usr/bin`; file `/etc/fstab` or `/etc/hosts` | Linux root |
 * | 8 | dirs `/etc`, `/root`, `/home`, `/usr`; file `/etc/coreos/update.conf` | CoreOS root |
 * | 9 | dirs `/etc`, `/bin`, `/share`; no dir `/local`, no file `/etc/fstab` | other (`/usr/local`) |
 * | 10 | dirs `/bin`, `/local`, `/share`, `/src`; no file `/etc/fstab` | Linux `/usr` |
 * | 11 | dirs `/bin`, `/share`, `/local`, `/share/coreos` | CoreOS `/usr` |
 * | 12 | dirs `/log`, `/run`, `/spool` | other (`/var`) |
 * | 13 | a Windows system root (`windows.ts`) | Windows root |
 * | 14 | dir `/System Volume Information` (any case) | other (a Windows data volume) |
 * | 15 | dir `/FDOS`, file `/FDOS/FREEDOS.BSS` (any case) | FreeDOS root (`dos`, `freedos`, `i386`) |
 * | 16 | dir `/DOS`, file `/DOS/COMMAND.COM` (any case) | MS-DOS root (`dos`, `msdos`, `i386`) |
 *
 * (File tests do not follow a link in the last component, as libguestfs's `Is.is_file` and
 * `Is.is_dir` do not. On FAT and NTFS names compare without case, so the "any case" tests
 * are plain lookups there.)
 *
 * @module
 */
import type { GuestFiles } from './guest-files.js';
import { type InspectionData, emptyInspectionData } from './inspection-data.js';
import { type UnixRootContext, checkBsdRoot, checkCoreosRoot, checkCoreosUsr, checkLinuxOrHurdRoot, checkLinuxUsr, checkMinixRoot } from './unix-root.js';
import { type WindowsRootContext, checkWindowsRoot, windowsSystemRoot } from './windows.js';

/** What a file system is to the guest. */
export type FileSystemRole = 'root' | 'usr' | 'other';

/** The role, what the rule that matched is called, and what was learnt. */
export interface Classification {
  role: FileSystemRole;
  /** The rule that matched (`Linux root`, `Linux /var`, ...), or `no known OS partition`. */
  matched: string;
  data: InspectionData;
}

/** Everything identification needs besides the files. */
export type ClassifyContext = UnixRootContext & WindowsRootContext;

/** `check_filesystem`: the role of the file system `files` opens, and its inspection data. */
export async function classifyFileSystem(files: GuestFiles, context: ClassifyContext): Promise<Classification> {
  const data = emptyInspectionData();
  const dir = (path: string) => files.isDir(path);
  const file = (path: string) => files.isFile(path);
  const all = async (...tests: Array<() => Promise<boolean>>): Promise<boolean> => {
    for (const test of tests) if (!(await test())) return false;
    return true;
  };
  const result = (role: FileSystemRole, matched: string): Classification => ({ role, matched, data });

  if ((await file('/grub/menu.lst')) || (await file('/grub/grub.conf')) || (await file('/grub2/grub.cfg'))) return result('other', 'Grub /boot');
  if (await all(() => dir('/etc'), () => dir('/bin'), () => file('/etc/freebsd-update.conf'), () => file('/etc/fstab'))) {
    await checkBsdRoot(files, data, context, 'freebsd');
    return result('root', 'FreeBSD root');
  }
  if (await all(() => dir('/etc'), () => dir('/bin'), () => file('/netbsd'), () => file('/etc/fstab'), () => file('/etc/release'))) {
    await checkBsdRoot(files, data, context, 'netbsd');
    return result('root', 'NetBSD root');
  }
  if (await all(() => dir('/etc'), () => dir('/bin'), () => file('/bsd'), () => file('/etc/fstab'), () => file('/etc/motd'))) {
    await checkBsdRoot(files, data, context, 'openbsd');
    return result('root', 'OpenBSD root');
  }
  if (await all(() => file('/hurd/console'), () => file('/hurd/hello'), () => file('/hurd/null'))) {
    await checkLinuxOrHurdRoot(files, data, context, 'hurd');
    return result('root', 'Hurd root');
  }
  if (await all(() => dir('/etc'), () => dir('/bin'), () => file('/service/vm'), () => file('/etc/fstab'), () => file('/etc/version'))) {
    await checkMinixRoot(files, data);
    return result('root', 'Minix root');
  }
  if (
    await all(
      () => dir('/etc'),
      async () => (await dir('/bin')) || (await files.isSymlinkTo('/bin', 'usr/bin')),
      async () => (await file('/etc/fstab')) || (await file('/etc/hosts')),
    )
  ) {
    await checkLinuxOrHurdRoot(files, data, context, 'linux');
    return result('root', 'Linux root');
  }
  if (await all(() => dir('/etc'), () => dir('/root'), () => dir('/home'), () => dir('/usr'), () => file('/etc/coreos/update.conf'))) {
    await checkCoreosRoot(files, data);
    return result('root', 'CoreOS root');
  }
  if (await all(() => dir('/etc'), () => dir('/bin'), () => dir('/share'), async () => !(await dir('/local')), async () => !(await file('/etc/fstab')))) {
    return result('other', 'Linux /usr/local');
  }
  if (await all(() => dir('/bin'), () => dir('/local'), () => dir('/share'), () => dir('/src'), async () => !(await file('/etc/fstab')))) {
    await checkLinuxUsr(files, data);
    return result('usr', 'Linux /usr');
  }
  if (await all(() => dir('/bin'), () => dir('/share'), () => dir('/local'), () => dir('/share/coreos'))) {
    await checkCoreosUsr(files, data);
    return result('usr', 'CoreOS /usr');
  }
  if (await all(() => dir('/log'), () => dir('/run'), () => dir('/spool'))) return result('other', 'Linux /var');
  const systemRoot = await windowsSystemRoot(files);
  if (systemRoot !== undefined) {
    await checkWindowsRoot(files, systemRoot, data, context);
    return result('root', 'Windows root');
  }
  if (await dir('/System Volume Information')) return result('other', 'Windows volume');
  if (await all(() => dir('/FDOS'), () => file('/FDOS/FREEDOS.BSS'))) {
    Object.assign(data, { osType: 'dos', distro: 'freedos', arch: 'i386' });
    return result('root', 'FreeDOS');
  }
  if (await all(() => dir('/DOS'), () => file('/DOS/COMMAND.COM'))) {
    Object.assign(data, { osType: 'dos', distro: 'msdos', arch: 'i386' });
    return result('root', 'MS-DOS');
  }
  return result('other', 'no known OS partition');
}
