/**
 * The reference tool: qemu-img, when it is on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { basename, dirname } from 'node:path';

export const hasQemuImg = spawnSync('qemu-img', ['--version'], { encoding: 'utf8' }).status === 0;
export const qemuMissing = 'qemu-img is not on the PATH (install qemu-utils; .ci/run does)';

/** Runs a qemu-img subcommand, throwing with its stderr when it fails. */
export function qemuImg(args: string[], cwd?: string): string {
  const result = spawnSync('qemu-img', args, { encoding: 'utf8', cwd });
  if (result.status !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** `qemu-img info --output=json` of a file, run in its folder so names stay relative. */
export function qemuInfo(path: string, format?: string): Record<string, unknown> {
  const args = ['info', '--output=json', ...(format ? ['-f', format] : []), basename(path)];
  return JSON.parse(qemuImg(args, dirname(path))) as Record<string, unknown>;
}
