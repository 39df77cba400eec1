/**
 * xz (containers/xz.ts) against xz itself: streams, blocks, sizes and the check as
 * `xz --robot --list` gives them (its `totals` line). The conformance loop runs the
 * committed fixtures (test/fixtures/xz/).
 */
import { type ToolCase, describeAgainstTool } from './compressed-tools.js';

const cases: readonly ToolCase[] = [
  ['the default check (CRC64)', 'disk.raw.xz', 'xz -6 -k -f disk.raw'],
  ['SHA-256, several blocks', 'blocks.xz', 'xz -1 --check=sha256 --block-size=262144 -c disk.raw > blocks.xz'],
  ['CRC32, two streams (cat a.xz b.xz)', 'two.xz', 'head -c 300000 disk.raw | xz -1 --check=crc32 > two.xz && tail -c +300001 disk.raw | xz -1 --check=crc32 >> two.xz'],
  ['no check', 'none.xz', 'xz -1 --check=none -c disk.raw > none.xz'],
];

/** What xz says of `file`, as layer fields. */
function listed(file: string, run: (command: string) => string): Record<string, unknown> {
  // totals: streams, blocks, compressed, uncompressed, ratio, check names, padding, files.
  const totals = run(`xz --robot --list ${file}`)
    .split('\n')
    .find((line) => line.startsWith('totals\t'))
    ?.split('\t');
  if (totals === undefined) throw new Error(`xz --robot --list ${file}: no totals line`);
  const [, streams, blocks, compressed, uncompressed, , check] = totals;
  return {
    streams: Number(streams),
    blocks: Number(blocks),
    compressedSize: Number(compressed),
    uncompressedSize: Number(uncompressed),
    // xz lists every stream's check ("CRC32" for both of two); ours is the first stream's, "none" where xz says "None".
    check: (check ?? '').split(',')[0] === 'None' ? 'none' : (check ?? '').split(',')[0],
  };
}

describeAgainstTool('xz', 'xz', cases, listed);
