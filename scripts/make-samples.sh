#!/usr/bin/env bash
# Regenerates samples/: one small image of every supported format, introspected by
# `npm start`. Needs qemu-img, sfdisk and genisoimage; the formats nothing in Debian writes
# (Bochs, cloop, DMG) and a LUKS header with zeroed key material are taken from the test
# fixtures, where scripts/fixtures/*.sh describe how they were built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="$root/samples"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$samples"
mkdir -p "$samples"
cd "$work"

# A 2 MiB disk with an MBR partition table and a little data: the source of the conversions.
head -c 2097152 /dev/zero > disk.raw
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q disk.raw
printf 'image-introspect sample data\n' | dd of=disk.raw bs=1 seek=1048576 conv=notrunc status=none
cp disk.raw "$samples/disk.img"

qemu-img convert -q -O qcow2 disk.raw "$samples/disk.qcow2"
qemu-img convert -q -O qcow disk.raw "$samples/disk.qcow"
qemu-img convert -q -O qed disk.raw "$samples/disk.qed"
qemu-img convert -q -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic disk.raw "$samples/disk.vmdk"
qemu-img convert -q -O vpc disk.raw "$samples/disk.vhd"
qemu-img convert -q -O vpc -o subformat=fixed disk.raw "$samples/disk-fixed.vhd"
qemu-img convert -q -O vhdx disk.raw "$samples/disk.vhdx"
qemu-img convert -q -O vdi disk.raw "$samples/disk.vdi"
qemu-img convert -q -O parallels disk.raw "$samples/disk.hds"

mkdir iso-content && printf 'image-introspect sample\n' > iso-content/README.TXT
genisoimage -quiet -J -R -V SAMPLE -o "$samples/disk.iso" iso-content

zcat "$root/test/fixtures/luks/cryptsetup-luks2-small.img.gz" > "$samples/disk.luks"
zcat "$root/test/fixtures/bochs/growing-v2.img.gz" > "$samples/disk.bochs"
zcat "$root/test/fixtures/cloop/small-blocks.cloop.gz" > "$samples/disk.cloop"
zcat "$root/test/fixtures/dmg/udzo.dmg.gz" > "$samples/disk.dmg"

echo "samples written to $samples"
ls -la "$samples"
