/**
 * A compression container against its own tool, run at test time: a raw disk with data
 * (read to its end, so that every size is known) is compressed by the tool in each way a
 * test file names, introspected, and the layer is compared with what the tool itself says
 * of the file (its listing, or what it decompresses).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { introspectFile } from '../../src/node.js';
import { scratch } from '../helpers/format-kit.js';

/** One way of compressing: its name, the file it makes (in the scratch folder) from `disk.raw`, and the shell command there that makes it. */
export type ToolCase = readonly [name: string, file: string, shell: string];

/** Runs `command` with `sh -c` in `cwd` and returns its standard output (and error: some tools list there). */
export function sh(command: string, cwd: string): string {
  const result = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return `${result.stdout}${result.stderr}`;
}

/** True when `tool` runs. */
export function hasTool(tool: string): boolean {
  return spawnSync(tool, ['--help'], { stdio: 'ignore' }).error === undefined;
}

/** A MiB of text lines, every one different: compressible, and more than one block of the block-based codecs. */
function diskBytes(): Uint8Array {
  const lines: string[] = [];
  let length = 0;
  for (let line = 0; length < 1 << 20; line += 1) {
    const text = `image-introspect compressed disk line ${line} ${(line * 2654435761) >>> 0}\n`;
    lines.push(text);
    length += text.length;
  }
  return new TextEncoder().encode(lines.join('')).subarray(0, 1 << 20);
}

/**
 * Registers, in a describe skipped (saying why) without `tool`, one test per case: the
 * layer must be `container`'s, the disk inside raw and whole, and the layer's fields those
 * `listed` reads from the tool for the file.
 */
export function describeAgainstTool(container: string, tool: string, cases: readonly ToolCase[], listed: (file: string, run: (command: string) => string) => Record<string, unknown>): void {
  const present = hasTool(tool);
  describe.skipIf(!present)(`${container} layers against ${tool}${present ? '' : ` (skipped: ${tool} is not on the PATH)`}`, () => {
    const { work, path } = scratch(`${container}-tool`);
    const disk = diskBytes();
    writeFileSync(path('disk.raw'), disk);
    const run = (command: string) => sh(command, work);
    for (const [name, file, shell] of cases) {
      it(`${name}: the layer says what ${tool} says`, async () => {
        run(shell);
        const info = await introspectFile(path(file));
        expect({ format: info.format, virtualSize: info.virtualSize }).toEqual({ format: 'raw', virtualSize: disk.byteLength });
        expect(info.containers).toHaveLength(1);
        const layer = info.containers?.[0] as Record<string, unknown>;
        expect(layer.format).toBe(container);
        expect(layer.decodedBytes, 'a raw disk is decoded to its end').toBe(layer.uncompressedSize);
        // The listed fields only; one listed as undefined must be absent from the layer.
        const expected = listed(file, run);
        expect(Object.fromEntries(Object.keys(expected).map((key) => [key, layer[key]]))).toEqual(expected);
      });
    }
  });
}
