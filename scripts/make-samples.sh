#!/usr/bin/env bash
# Regenerates samples/: one small image of every supported format, introspected by
# `npm start`. Needs qemu-img (and, for some formats, the tools named below).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="$root/samples"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$samples"
cd "$work"

# A 2 MiB disk with an MBR partition table and a little data: the source of the conversions.
head -c 2097152 /dev/zero > disk.raw
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q disk.raw
printf 'image-introspect sample data\n' | dd of=disk.raw bs=1 seek=1048576 conv=notrunc status=none
cp disk.raw "$samples/disk.img"

qemu-img convert -q -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic disk.raw "$samples/disk.vmdk"
echo "samples written to $samples"
ls -la "$samples"
