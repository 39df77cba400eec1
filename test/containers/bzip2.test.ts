/**
 * bzip2 (containers/bzip2.ts) against bzip2 itself: sizes as the file and `bzip2 -dc` give
 * them, blocks as `bzip2recover` finds them (one "block N runs from" line each), streams as
 * they were written. The conformance loop runs the committed fixtures (test/fixtures/bzip2/).
 */
import { describeAgainstTool, hasTool } from './compressed-tools.js';

const recover = hasTool('bzip2recover');

describeAgainstTool(
  'bzip2',
  'bzip2',
  [
    { name: 'one stream, 900k blocks', file: 'disk.raw.bz2', shell: 'bzip2 -9 -k -f disk.raw' },
    { name: 'one stream, 100k blocks (-1)', file: 'small-blocks.bz2', shell: 'bzip2 -1 -c disk.raw > small-blocks.bz2' },
    { name: 'two streams (cat a.bz2 b.bz2)', file: 'two.bz2', shell: 'head -c 300000 disk.raw | bzip2 -1 > two.bz2 && tail -c +300001 disk.raw | bzip2 -1 >> two.bz2' },
  ],
  (file, run) => {
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
  },
);
