// Guest seeds for the fuzzer (scripts/fuzz.mjs): small disks with an installed-looking guest,
// made at fuzz time with the real tools, introspected with `inspectGuest: true` so that
// mutations land in partition tables, superblocks, inodes, directories, extent trees, MFT
// records and B-trees, not only in the image format's header.
//
// | seed | made with | wrapped as | bytes |
// | --- | --- | --- | --- |
// | ext4 (no journal) on MBR | sfdisk, mkfs.ext4 -d | raw (1 MiB) | 1 MiB |
// | FAT12 ESP + ext4 (journal, hashed directory of 150 entries, inline data) on GPT | sgdisk, mkfs.fat, mtools, mkfs.ext4 -d | qcow2, 4 KiB clusters | ~210 KiB |
// | XFS v5, 300 MiB (mkfs.xfs's minimum), whole disk | mkfs.xfs -p (prototype file) | qcow2, 4 KiB clusters | ~250 KiB |
// | Btrfs, 114 MiB (mkfs.btrfs's minimum), whole disk | mkfs.btrfs --rootdir | qcow2, 4 KiB clusters | ~440 KiB |
// | NTFS, 2 MiB, whole disk, with a file | mkntfs, ntfscp | qcow2, 4 KiB clusters | ~510 KiB |
//
// Every seed stays within the fuzzer's 1 MiB seed limit: the bigger file systems only as
// qcow2 of small clusters (their unwritten blocks take no room). A missing tool drops its
// seed (said on stderr unless quiet). No registry hive: NTFS directories for
// Windows\System32\config need ntfs-3g mounted (an appliance), too slow to make per run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const UUID = '11111111-2222-4333-8444-555555555555';

/** A bare ELF header (64 bytes) of an x86-64 executable: what the architecture check reads. */
function elfExecutable() {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const view = new DataView(bytes.buffer);
  view.setUint16(16, 2, true); // ET_EXEC
  view.setUint16(18, 62, true); // EM_X86_64
  view.setUint32(20, 1, true);
  return bytes;
}

/** A PE32+ header (x86-64), as an EFI boot loader's head. */
function peExecutable() {
  const bytes = new Uint8Array(1024);
  bytes.set([0x4d, 0x5a]);
  const view = new DataView(bytes.buffer);
  view.setUint32(0x3c, 0x80, true);
  bytes.set([0x50, 0x45, 0, 0], 0x80);
  view.setUint16(0x84, 0x8664, true);
  view.setUint16(0x80 + 24, 0x20b, true);
  return bytes;
}

/** A Debian-looking root: os-release, hostname, fstab, debian_version, /bin/ls; `many` files in one directory (an ext4 htree). */
function writeRoot(folder, many, fstab) {
  mkdirSync(join(folder, 'etc'), { recursive: true });
  mkdirSync(join(folder, 'bin'), { recursive: true });
  writeFileSync(join(folder, 'etc', 'os-release'), 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
  writeFileSync(join(folder, 'etc', 'hostname'), 'fuzzhost\n');
  writeFileSync(join(folder, 'etc', 'debian_version'), '12.5\n');
  writeFileSync(join(folder, 'etc', 'fstab'), fstab);
  writeFileSync(join(folder, 'bin', 'ls'), elfExecutable());
  if (many > 0) {
    mkdirSync(join(folder, 'usr', 'share', 'doc'), { recursive: true });
    for (let index = 1; index <= many; index += 1) writeFileSync(join(folder, 'usr', 'share', 'doc', `package-with-a-longish-name-${index}`), `${index}\n`);
  }
}

/** mkfs.xfs's prototype file for the root written by {@link writeRoot} (no many-file directory). */
function xfsPrototype(folder) {
  const file = (name, path) => `${name} ---644 0 0 ${join(folder, path)}`;
  return [
    'fuzz',
    '0 0',
    'd--755 0 0',
    'etc d--755 0 0',
    file('os-release', 'etc/os-release'),
    file('hostname', 'etc/hostname'),
    file('fstab', 'etc/fstab'),
    file('debian_version', 'etc/debian_version'),
    '$',
    'bin d--755 0 0',
    file('ls', 'bin/ls'),
    '$',
    '$',
    '',
  ].join('\n');
}

/**
 * The guest seeds, built under `work` (removed after): `{ name, bytes, inspectGuest: true }`.
 * `say` receives a line per seed that could not be made.
 */
export function guestSeeds(work, say = () => undefined) {
  mkdirSync(work, { recursive: true });
  const seeds = [];
  const run = (command, args, options = {}) => {
    const result = spawnSync(command, args, { cwd: work, maxBuffer: 64 * 1024 * 1024, ...options });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.error ?? result.stderr?.toString().trim().split('\n').pop()}`);
    return result.stdout;
  };
  const path = (name) => join(work, name);
  const place = (image, disk, sector) => run('dd', [`if=${image}`, `of=${disk}`, 'bs=512', `seek=${sector}`, 'conv=notrunc', 'status=none']);
  const qcow2 = (raw) => {
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4096', raw, `${raw}.qcow2`]);
    return `${raw}.qcow2`;
  };
  const seed = (name, build) => {
    try {
      const file = build();
      seeds.push({ name: `guest: ${name}`, bytes: new Uint8Array(readFileSync(file)), inspectGuest: true });
    } catch (error) {
      say(`guest seed "${name}" not made: ${error.message}`);
    }
  };
  const rootFstab = `UUID=${UUID} / ext4 defaults 0 1\n`;

  seed('ext4 on MBR (raw)', () => {
    writeRoot(path('root-mbr'), 0, rootFstab);
    const disk = path('mbr.img');
    run('truncate', ['-s', '1M', disk]);
    run('sfdisk', ['-q', disk], { input: 'start=64, type=83\n' });
    run('truncate', ['-s', String(1024 * 1024 - 64 * 512), path('mbr-ext4.img')]);
    run('mkfs.ext4', ['-q', '-F', '-b', '1024', '-N', '64', '-O', '^has_journal,^resize_inode', '-d', path('root-mbr'), '-U', UUID, '-L', 'root', path('mbr-ext4.img')]);
    place(path('mbr-ext4.img'), disk, 64);
    return disk;
  });

  seed('FAT12 ESP and ext4 (journal, hashed directory, inline data) on GPT (qcow2)', () => {
    writeRoot(path('root-gpt'), 150, `${rootFstab}LABEL=ESP /boot/efi vfat defaults 0 2\n`);
    const disk = path('gpt.img');
    run('truncate', ['-s', '12M', disk]);
    // sgdisk says the kernel keeps the old table (a file has none): its status is not an error here.
    spawnSync('sgdisk', ['-n', '1:2048:+2M', '-t', '1:ef00', '-n', '2:6144:0', '-t', '2:8300', disk], { cwd: work });
    const esp = path('esp.img');
    run('mkfs.fat', ['-C', '-F', '12', '-n', 'ESP', esp, '2048']);
    run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT']);
    writeFileSync(path('BOOTX64.EFI'), peExecutable());
    run('mcopy', ['-i', esp, path('BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI']);
    const ext4 = path('gpt-ext4.img');
    // Partition 2 runs to the last usable sector: the backup GPT takes the last 33.
    run('truncate', ['-s', String(((12 * 1024 * 1024) / 512 - 6144 - 33) * 512), ext4]);
    run('mkfs.ext4', ['-q', '-F', '-O', 'inline_data', '-d', path('root-gpt'), '-U', UUID, '-L', 'root', ext4]);
    place(esp, disk, 2048);
    place(ext4, disk, 6144);
    return qcow2(disk);
  });

  seed('XFS v5, whole disk (qcow2)', () => {
    writeRoot(path('root-xfs'), 0, `UUID=${UUID} / xfs defaults 0 1\n`);
    writeFileSync(path('xfs.proto'), xfsPrototype(path('root-xfs')));
    const disk = path('xfs.img');
    run('truncate', ['-s', '300M', disk]);
    run('mkfs.xfs', ['-q', '-f', '-m', `uuid=${UUID}`, '-p', path('xfs.proto'), disk]);
    return qcow2(disk);
  });

  seed('Btrfs, whole disk (qcow2)', () => {
    writeRoot(path('root-btrfs'), 20, `UUID=${UUID} / btrfs defaults 0 1\n`);
    const disk = path('btrfs.img');
    run('truncate', ['-s', '114M', disk]);
    run('mkfs.btrfs', ['-q', '-U', UUID, '--rootdir', path('root-btrfs'), disk]);
    return qcow2(disk);
  });

  seed('NTFS, whole disk (qcow2)', () => {
    const disk = path('ntfs.img');
    run('truncate', ['-s', '2M', disk]);
    run('mkntfs', ['-q', '-F', '-Q', '-s', '512', '-c', '512', '-L', 'Windows', disk]);
    writeFileSync(path('cmd.exe'), peExecutable());
    run('ntfscp', ['-q', '-f', disk, path('cmd.exe'), '/cmd.exe']);
    return qcow2(disk);
  });

  rmSync(work, { recursive: true, force: true });
  return seeds;
}
