/**
 * bzip2 (containers/bzip2.ts) against bzip2 itself: sizes as the file and `bzip2 -dc` give
 * them, blocks as `bzip2recover` finds them (one "block N runs from" line each), streams as
 * they were written. The conformance loop runs the committed fixtures (test/fixtures/bzip2/).
 */
import { type ToolCase, describeAgainstTool, hasTool } from './compressed-tools.js';

const recover = hasTool('bzip2recover');

const cases: readonly ToolCase[] = [
  ['one stream, 900k blocks', 'disk.raw.bz2', 'bzip2 -9 -k -f disk.raw'],
  ['one stream, 100k blocks (-1)', 'small-blocks.bz2', 'bzip2 -1 -c disk.raw > small-blocks.bz2'],
  ['two streams (cat a.bz2 b.bz2)', 'two.bz2', 'head -c 300000 disk.raw | bzip2 -1 > two.bz2 && tail -c +300001 disk.raw | bzip2 -1 >> two.bz2'],
];

/** What bzip2 says of `file`, as layer fields. */
function listed(file: string, run: (command: string) => string): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    streams: file === 'two.bz2' ? 2 : 1,
    compressedSize: Number(run(`wc -c < ${file}`).trim()),
    uncompressedSize: Number(run(`bzip2 -dc ${file} | wc -c`).trim()),
  };
  if (recover) {
    // bzip2recover writes one file per block beside its input; they are removed at once.
    fields.blocks = [...run(`bzip2recover ${file} 2>&1; rm -f rec*${file}`).matchAll(/block \d+ runs from/g)].length;
  }
  return fields;
}

describeAgainstTool('bzip2', 'bzip2', cases, listed);
