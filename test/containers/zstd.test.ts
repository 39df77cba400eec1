/**
 * zstd (containers/zstd.ts) against zstd itself: frames, window, sizes as `zstd -lv`
 * lists them. The conformance loop runs the committed fixtures (test/fixtures/zstd/).
 */
import { type ToolCase, describeAgainstTool } from './compressed-tools.js';

/** The byte count in a `zstd -lv` line such as `Window Size: 192 KiB (196616 B)`. */
function bytesOf(listing: string, label: string): number | undefined {
  const match = new RegExp(`^${label}: .*?\\((\\d+) B\\)`, 'm').exec(listing);
  return match === null ? undefined : Number(match[1]);
}

const cases: readonly ToolCase[] = [
  ['one frame with its content size', 'disk.raw.zst', 'zstd -q -19 -k -f disk.raw'],
  ['one frame without (--no-content-size, from a pipe)', 'piped.zst', 'cat disk.raw | zstd -q -3 --no-content-size > piped.zst'],
  ['two frames (cat a.zst b.zst)', 'two.zst', 'head -c 300000 disk.raw | zstd -q > two.zst && tail -c +300001 disk.raw | zstd -q >> two.zst'],
];

/** What zstd says of `file`, as layer fields. */
function listed(file: string, run: (command: string) => string): Record<string, unknown> {
  const listing = run(`zstd -lv ${file}`);
  const frames = Number(/^# Zstandard Frames: (\d+)/m.exec(listing)?.[1]);
  const fields: Record<string, unknown> = {
    frames,
    compressedSize: bytesOf(listing, 'Compressed Size'),
    uncompressedSize: Number(run(`zstd -dc ${file} | wc -c`).trim()),
  };
  // With one frame the listing's window and declared size are that frame's.
  if (frames === 1) {
    fields.windowSize = bytesOf(listing, 'Window Size');
    fields.contentSize = bytesOf(listing, 'Decompressed Size');
  }
  return fields;
}

describeAgainstTool('zstd', 'zstd', cases, listed);
