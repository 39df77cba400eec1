#!/usr/bin/env bash
# Regenerates the committed test fixtures with qemu-img, and records what
# `qemu-img info --output=json` says of each one next to it (NAME.qemu.json), so
# that the tests compare against the reference tool even where it is not installed.
#
# Usage: scripts/make-fixtures.sh [FORMAT...]   (default: every format below)
# Needs: qemu-utils (qemu-img), gzip. Run from anywhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# record NAME FORMAT-DIR [FILES-TO-KEEP...]: gzip NAME into test/fixtures/FORMAT-DIR and
# store qemu-img's JSON for it (the top-level filename and actual-size dropped: they depend on
# the host; extent and backing file names are kept, relative because qemu-img runs in their folder).
record() {
  local name="$1" dir="$2"
  mkdir -p "$root/test/fixtures/$dir"
  (cd "$work" && qemu-img info --output=json "$name" 2>/dev/null || true) |
    python3 -c 'import json,sys
text=sys.stdin.read()
if not text.strip(): print("{}"); sys.exit()
d=json.loads(text); d.pop("filename",None); d.pop("actual-size",None)
print(json.dumps(d,indent=1,sort_keys=True))' > "$root/test/fixtures/$dir/$name.qemu.json"
  gzip -9 -n -c "$work/$name" > "$root/test/fixtures/$dir/$name.gz"
}

# A small raw disk with real data at a few places, converted into each format.
head -c 4194304 /dev/zero > "$work/data.raw"
printf 'image-introspect fixture data\n' | dd of="$work/data.raw" conv=notrunc status=none
head -c 65536 /dev/urandom | dd of="$work/data.raw" bs=65536 seek=16 conv=notrunc status=none
head -c 4096 /dev/urandom | dd of="$work/data.raw" bs=4096 seek=768 conv=notrunc status=none

vmdk() {
  cd "$work"
  for adapter in ide buslogic lsilogic legacyESX; do
    qemu-img create -q -f vmdk -o subformat=monolithicSparse,adapter_type=$adapter "sparse-$adapter.vmdk" 64M
    record "sparse-$adapter.vmdk" vmdk
  done
  qemu-img convert -q -O vmdk -o subformat=streamOptimized data.raw stream.vmdk && record stream.vmdk vmdk
  qemu-img convert -q -O vmdk -o subformat=monolithicSparse data.raw sparse-data.vmdk && record sparse-data.vmdk vmdk
  qemu-img create -q -f vmdk -o subformat=monolithicSparse,hwversion=6,zeroed_grain=on sparse-hw6-zeroed.vmdk 1G
  record sparse-hw6-zeroed.vmdk vmdk
  qemu-img create -q -f vmdk -o subformat=monolithicSparse sparse-base.vmdk 16M
  qemu-img create -q -f vmdk -b sparse-base.vmdk -F vmdk sparse-child.vmdk
  record sparse-child.vmdk vmdk
  qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M && record flat.vmdk vmdk
  qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse,adapter_type=lsilogic split-sparse.vmdk 5G
  record split-sparse.vmdk vmdk
  qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentFlat split-flat.vmdk 3G
  record split-flat.vmdk vmdk
  # The same monolithicFlat descriptor with Windows line endings.
  sed 's/$/\r/' flat.vmdk > flat-crlf.vmdk && cp flat-flat.vmdk flat-crlf-flat.vmdk
  sed -i 's/"flat-flat.vmdk"/"flat-crlf-flat.vmdk"/' flat-crlf.vmdk
  record flat-crlf.vmdk vmdk
  cd - >/dev/null
}

formats=("$@")
[ ${#formats[@]} -eq 0 ] && formats=(vmdk)
for format in "${formats[@]}"; do "$format"; done
echo "fixtures written to $root/test/fixtures"
