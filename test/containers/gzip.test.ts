/**
 * gzip (containers/gzip.ts) against gzip itself: sizes as `gzip -dc` and the file give
 * them, the stored name as `gzip -l --name` lists it, members as they were written. The
 * conformance loop runs the committed fixtures (test/fixtures/gzip/).
 */
import { describe, expect, it } from 'vitest';
import { introspect } from '../../src/index.js';
import { fixture } from '../helpers/fixtures.js';
import { type ToolCase, describeAgainstTool } from './compressed-tools.js';

const cases: readonly ToolCase[] = [
  ['one member with its name', 'disk.raw.gz', 'gzip -9 -k -f disk.raw'],
  ['no name (-n)', 'plain.gz', 'gzip -1 -n -c disk.raw > plain.gz'],
  ['two members (cat a.gz b.gz)', 'two.gz', 'head -c 300000 disk.raw | gzip -n > two.gz && tail -c +300001 disk.raw | gzip -n >> two.gz'],
];

/** What gzip says of `file`, as layer fields. */
function listed(file: string, run: (command: string) => string): Record<string, unknown> {
  const members = file === 'two.gz' ? 2 : 1;
  const fields: Record<string, unknown> = {
    members,
    compressedSize: Number(run(`wc -c < ${file}`).trim()),
    uncompressedSize: Number(run(`gzip -dc ${file} | wc -c`).trim()),
  };
  // gzip -l --name shows the stored name, or (with none stored, -n) one made from the file's.
  if (file === 'disk.raw.gz') fields.name = run(`gzip -l --name ${file}`).trim().split(/\s+/).at(-1);
  if (file === 'plain.gz') fields.name = undefined;
  return fields;
}

describeAgainstTool('gzip', 'gzip', cases, listed);

describe('a gzip layer left before its end', () => {
  it('reports no compressed or uncompressed size: the stream did not end (a VHD in a tar answers from its head)', async () => {
    const info = await introspect(fixture('gzip', 'disk.tar.gz').bytes());
    expect(info.containers?.map((layer) => layer.format)).toEqual(['gzip', 'tar']);
    const layer = info.containers?.[0] as { decodedBytes: number; compressedSize?: number; uncompressedSize?: number };
    // The tar holds a member of 2100224 bytes: decoding stopped long before the end.
    expect(layer.decodedBytes).toBeLessThan(2100224);
    expect({ compressedSize: layer.compressedSize, uncompressedSize: layer.uncompressedSize }).toEqual({ compressedSize: undefined, uncompressedSize: undefined });
  });
});
