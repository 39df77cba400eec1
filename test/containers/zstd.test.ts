/**
 * zstd (containers/zstd.ts) against zstd itself: frames, window, sizes as `zstd -lv`
 * lists them. The conformance loop runs the committed fixtures (test/fixtures/zstd/).
 */
import { describeAgainstTool } from './compressed-tools.js';

/** The byte count in a `zstd -lv` line such as `Window Size: 192 KiB (196616 B)`. */
function bytesOf(listing: string, label: string): number | undefined {
  const match = new RegExp(`^${label}: .*?\\((\\d+) B\\)`, 'm').exec(listing);
  return match === null ? undefined : Number(match[1]);
}

describeAgainstTool(
  'zstd',
  'zstd',
  [
    { name: 'one frame with its content size', file: 'disk.raw.zst', shell: 'zstd -q -19 -k -f disk.raw' },
    { name: 'one frame without (--no-content-size, from a pipe)', file: 'piped.zst', shell: 'cat disk.raw | zstd -q -3 --no-content-size > piped.zst' },
    { name: 'two frames (cat a.zst b.zst)', file: 'two.zst', shell: 'head -c 300000 disk.raw | zstd -q > two.zst && tail -c +300001 disk.raw | zstd -q >> two.zst' },
  ],
  (file, run) => {
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
  },
);
