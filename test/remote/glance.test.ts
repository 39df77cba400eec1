/**
 * introspectUrl against a real Glance (`GET /v2/images/{id}/file`), through the harness in
 * test/helpers/glance.ts when it is there (branch `glance`): Glance answers HEAD with 405
 * and sends no Accept-Ranges, so qemu-img's curl driver cannot read it; introspectUrl must,
 * giving what the file gives.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectFile, introspectUrl } from '../../src/node.js';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';
import { hasQemuImg } from '../helpers/qemu.js';

const harnessPath = join(projectRoot, 'test', 'helpers', 'glance.ts');
const harnessMissing = existsSync(harnessPath) ? undefined : 'the Glance harness (test/helpers/glance.ts, branch glance) is not here';

interface Glance {
  url: string;
  stop(): Promise<void>;
  accessLog(): Array<{ method: string; path: string; status: number; bytes: number }>;
}

/** The images stored in Glance, by fixture. */
const images: Array<[folder: string, name: string, diskFormat: string]> = [
  ['qcow2', 'converted.qcow2', 'qcow2'],
  ['qcow2', 'snapshots.qcow2', 'qcow2'],
  ['vmdk', 'stream.vmdk', 'vmdk'],
  ['vhd', 'fixed-1M.vhd', 'vhd'],
  ['vhdx', 'dynamic-64M.vhdx', 'vhdx'],
  ['iso', 'xorriso-hybrid-gpt.iso', 'iso'],
  ['raw', 'gpt.img', 'raw'],
  ['vdi', 'static.vdi', 'vdi'],
];

describe.skipIf(harnessMissing !== undefined)(`a real Glance${harnessMissing === undefined ? '' : ` (skipped: ${harnessMissing})`}`, () => {
  let glance: Glance;
  const ids = new Map<string, string>();
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-glance-remote-'));

  beforeAll(async () => {
    // A computed specifier: the harness may be absent from this branch.
    const harness = (await import(/* @vite-ignore */ harnessPath)) as { startGlance(): Promise<Glance> };
    glance = await harness.startGlance();
    for (const [folder, name, diskFormat] of images) {
      const created = await fetch(`${glance.url}/v2/images`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, disk_format: diskFormat, container_format: 'bare' }),
      });
      const { id } = (await created.json()) as { id: string };
      const bytes = fixtureBytes(folder, name);
      const uploaded = await fetch(`${glance.url}/v2/images/${id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
      expect(uploaded.status).toBe(204);
      writeFileSync(join(work, name), bytes);
      ids.set(name, id);
    }
  });
  afterAll(async () => {
    await glance?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * The access log's entries for `path` after the first `before`: Glance writes a line after
   * its answer, so a loaded machine may show it a moment later (waited for, at most 5 s), and
   * a line of the previous request may land after `before`.
   */
  async function logSince(before: number, path: string): Promise<ReturnType<Glance['accessLog']>> {
    const entries = () => glance.accessLog().slice(before).filter((entry) => entry.path === path);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      if (entries().length > 0) return entries();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return entries();
  }

  for (const [, name] of images) {
    it(`${name}: the same answer as the file, by GETs with Range only`, async () => {
      const url = `${glance.url}/v2/images/${ids.get(name)}/file`;
      const before = glance.accessLog().length;
      const info = await introspectUrl(url, { urlFilter: 'permissive' });
      expect({ ...info, bytesRead: 0 }).toEqual({ ...(await introspectFile(join(work, name))), bytesRead: 0 });
      const requests = await logSince(before, new URL(url).pathname);
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.every((entry) => entry.method === 'GET' && entry.status === 206)).toBe(true);
    });
  }

  it.skipIf(!hasQemuImg)('qemu-img over its curl driver cannot read the same URL (HEAD 405)', async () => {
    const url = `${glance.url}/v2/images/${ids.get('converted.qcow2')}/file`;
    const status = await new Promise<number | null>((resolve) => {
      const child = spawn('qemu-img', ['info', `json:${JSON.stringify({ 'file.driver': 'http', 'file.url': url })}`]);
      child.stdout.resume();
      child.stderr.resume();
      child.on('close', resolve);
    });
    expect(status).not.toBe(0);
  });
});
