#!/usr/bin/env bash
# Regenerates the committed test fixtures with the reference tools (qemu-img, xorriso,
# sgdisk, ...) and records what `qemu-img info --output=json` says of each one next to it
# (NAME.qemu.json), so that the tests compare against the reference even where the tools
# are not installed.
#
# Usage: scripts/make-fixtures.sh [FORMAT...]
#   FORMAT names a recipe scripts/fixtures/FORMAT.sh (default: every recipe).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/fixtures/lib.sh"

recipes=("$@")
if [ ${#recipes[@]} -eq 0 ]; then
  for file in "$root"/scripts/fixtures/*.sh; do
    name="$(basename "$file" .sh)"
    [ "$name" = lib ] || recipes+=("$name")
  done
fi
for recipe in "${recipes[@]}"; do
  work="$(mktemp -d)"
  (cd "$work" && source "$root/scripts/fixtures/$recipe.sh")
  rm -rf "$work"
  echo "fixtures: $recipe done"
done
