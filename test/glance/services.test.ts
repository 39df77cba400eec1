/**
 * The glance commands and client against a real Glance 25.1 and a real Keystone 22
 * (Debian's packages, started by test/helpers/glance.ts and keystone.ts): no mocked HTTP.
 * The images are made at test time by qemu-img, xorriso and sgdisk; what Glance stores is
 * compared with the files (size, SHA-512 computed here by node:crypto), with qemu-img, and
 * with Glance's own answers (its virtual_size, its access log of bytes served).
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isIntrospectionError } from '../../src/errors.js';
import { type AuditEntry, GlanceClient, type GlanceImage, authenticate } from '../../src/glance/index.js';
import { runGlanceCommand } from '../../src/glance/cli.js';
import type { ImageSource } from '../../src/reading/open.js';
import { type GlanceService, glanceMissing, startGlance, tail } from '../helpers/glance.js';
import { type KeystoneService, keystoneMissing, startKeystone } from '../helpers/keystone.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { hasTool, makeIso, run, xorrisoMissing } from './oracles.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const missing =
  glanceMissing ?? keystoneMissing ?? (hasQemuImg ? undefined : qemuMissing) ?? xorrisoMissing ?? (hasTool('sgdisk') ? undefined : 'sgdisk is not installed (gdisk)');

/** A closed loopback port: endpoints there refuse connections. */
const DEAD_ENDPOINT = 'http://127.0.0.1:9';
const ORIGIN = 'http://localhost:8080';

let glance: GlanceService;
let keystone: KeystoneService;
let failed = false;
const dir = mkdtempSync(join(tmpdir(), 'glance-services-'));

if (missing) describe('Glance and Keystone', () => it.skip(`skipped: ${missing}`, () => undefined));

describe.skipIf(missing !== undefined)('against a real Glance and Keystone', () => {
  beforeAll(async () => {
    // Both start at once; Keystone's catalog points at Glance once Glance has a port.
    const glanceStarting = startGlance({ corsOrigins: [ORIGIN], pageSize: 3 });
    const keystoneStarting = startKeystone({
      imageEndpoints: glanceStarting.then((service) => [
        { url: service.url, interface: 'public', region: 'RegionOne' },
        { url: DEAD_ENDPOINT, interface: 'internal', region: 'RegionOne' },
      ]),
    });
    const [glanceResult, keystoneResult] = await Promise.allSettled([glanceStarting, keystoneStarting]);
    if (glanceResult.status === 'fulfilled') glance = glanceResult.value;
    if (keystoneResult.status === 'fulfilled') keystone = keystoneResult.value;
    if (glanceResult.status === 'rejected') throw glanceResult.reason;
    if (keystoneResult.status === 'rejected') throw keystoneResult.reason;
    console.info(`Glance answered after ${(glance.startupMs / 1000).toFixed(1)} s, Keystone was set up after ${(keystone.startupMs / 1000).toFixed(1)} s (started together)`);
  });

  afterEach((context) => {
    if (context.task.result?.state !== 'fail') return;
    failed = true;
    if (glance) console.error(`Glance logs (${glance.dir}):\n${tail(glance.logs(), 80)}`);
    if (keystone) console.error(`Keystone logs:\n${tail(keystone.logs(), 40)}`);
  });

  afterAll(async () => {
    await glance?.stop({ keepDir: failed });
    await keystone?.stop({ keepDir: failed });
    rmSync(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------
  // Helpers

  async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: ImageSource; cwd?: string } = {}) {
    let stdout = '';
    let stderr = '';
    const status = await runGlanceCommand(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      stdin: options.stdin ?? [],
      // Never the machine's own OS_* variables.
      env: options.env ?? {},
      cwd: options.cwd ?? dir,
    });
    return { status, stdout, stderr };
  }
  const noAuth = () => ['--os-auth-type', 'none', '--os-endpoint', glance.url];
  const client = () => new GlanceClient({ endpoint: glance.url, token: undefined });
  const allImages = async () => (await (await fetch(`${glance.url}/v2/images?limit=1000`)).json()) as { images: GlanceImage[] };
  const imageIds = async () => (await allImages()).images.map((image) => image.id).sort();
  const sha512 = (path: string) => createHash('sha512').update(readFileSync(path)).digest('hex');

  /** Uploads with the CLI and checks what every upload must satisfy: active, same size and SHA-512 as the file. */
  async function upload(path: string, source: string, extra: string[] = [], io: { stdin?: ImageSource } = {}): Promise<GlanceImage> {
    const result = await cli(['upload', source, '--name', path.split('/').pop() as string, '--json', ...extra, ...noAuth()], io);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const outcome = JSON.parse(result.stdout) as { status: string; image: GlanceImage; sha512: string };
    const stored = await client().getImage(outcome.image.id);
    expect(stored.status).toBe('active');
    expect(stored.size).toBe(statSync(path).size);
    expect(stored.os_hash_algo).toBe('sha512');
    expect(stored.os_hash_value).toBe(sha512(path));
    expect(outcome.sha512).toBe(stored.os_hash_value);
    return stored;
  }

  /** A sparse raw file with a few bytes every 3 MiB, so that converted images carry data. */
  function rawWithData(name: string, size: number): string {
    const path = join(dir, name);
    writeFileSync(path, '');
    truncateSync(path, size);
    const descriptor = openSync(path, 'r+');
    try {
      for (let offset = 0; offset < size; offset += 3 * MIB) writeSync(descriptor, createHash('sha256').update(String(offset)).digest(), 0, 32, offset);
    } finally {
      closeSync(descriptor);
    }
    return path;
  }

  const uploaded: Record<string, GlanceImage> = {};

  // -------------------------------------------------------------------------------------
  // Uploads

  describe('upload', () => {
    it('a streamOptimized VMDK from a file: vmdk/bare with its VMware properties', async () => {
      const path = join(dir, 'stream.vmdk');
      qemuImg(['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', rawWithData('stream.raw', 40 * MIB), path]);
      const image = await upload(path, path);
      expect(image).toMatchObject({ disk_format: 'vmdk', container_format: 'bare', vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic' });
      // Glance 25 computes virtual_size for a bare image of the declared format: min_disk agrees.
      expect(image.virtual_size).toBe(qemuInfo(path, 'vmdk')['virtual-size']);
      expect(image.min_disk).toBe(Math.ceil((image.virtual_size as number) / GIB));
      uploaded.vmdk = image;
    });

    it('a qcow2 from standard input', async () => {
      const path = join(dir, 'disk.qcow2');
      qemuImg(['convert', '-O', 'qcow2', rawWithData('disk.raw', 2 * GIB + 10 * MIB), path]);
      const image = await upload(path, '-', [], { stdin: createReadStream(path) });
      expect(image).toMatchObject({ disk_format: 'qcow2', container_format: 'bare', min_disk: 3 });
      expect(image.virtual_size).toBe(qemuInfo(path, 'qcow2')['virtual-size']);
      uploaded.qcow2 = image;
    });

    it('a VHDX from a URL', async () => {
      const path = join(dir, 'disk.vhdx');
      qemuImg(['convert', '-O', 'vhdx', rawWithData('vhdx.raw', 24 * MIB), path]);
      const server: Server = createServer((request, response) => {
        response.writeHead(200, { 'Content-Length': statSync(path).size, 'Content-Type': 'application/octet-stream' });
        createReadStream(path).pipe(response);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const address = server.address() as { port: number };
        const image = await upload(path, `http://127.0.0.1:${address.port}/disk.vhdx`);
        expect(image).toMatchObject({ disk_format: 'vhdx', container_format: 'bare', min_disk: 1 });
        uploaded.vhdx = image;
      } finally {
        server.close();
      }
    });

    it('a dynamic VHD: disk_format vhd (qemu calls it vpc)', async () => {
      const path = join(dir, 'disk.vhd');
      qemuImg(['convert', '-O', 'vpc', rawWithData('vhd.raw', 16 * MIB), path]);
      expect(qemuInfo(path).format).toBe('vpc');
      const image = await upload(path, path);
      expect(image).toMatchObject({ disk_format: 'vhd', container_format: 'bare', min_disk: 1 });
      uploaded.vhd = image;
    });

    it('an installer ISO: iso/bare, UEFI, and the OS from its volume id', async () => {
      const path = makeIso(dir, 'debian', { volumeId: 'Debian 11.5.0 amd64 n', efi: true });
      const image = await upload(path, path);
      expect(image).toMatchObject({
        disk_format: 'iso',
        container_format: 'bare',
        hw_firmware_type: 'uefi',
        os_type: 'linux',
        os_distro: 'debian',
        os_version: '11',
        architecture: 'x86_64',
      });
      uploaded.iso = image;
    });

    it('a 256 MiB raw disk: created from its first 64 MiB, min_disk set once its end is read', async () => {
      const path = join(dir, 'big.raw');
      writeFileSync(path, '');
      truncateSync(path, 256 * MIB);
      run('sgdisk', ['-n1:0:+32M', '-t1:ef00', '-n2:0:0', '-t2:8300', path]);
      const image = await upload(path, path);
      expect(image).toMatchObject({ disk_format: 'raw', container_format: 'bare', hw_firmware_type: 'uefi', min_disk: 1 });
      uploaded.raw = image;
    });

    it.skipIf(!hasTool('xz') || !hasTool('gzip') || !hasTool('tar'))('compressed uploads: a .qcow2.xz and an .img.gz are compressed with the disk inside, an OVA is ova/vmdk', async () => {
      // A qcow2 in xz: Glance's disk_format is the disk's, container_format says it is wrapped.
      const qcow2 = join(dir, 'inner.qcow2');
      qemuImg(['convert', '-O', 'qcow2', rawWithData('inner.raw', 48 * MIB), qcow2]);
      run('xz', ['-k', '-3', '-f', qcow2]);
      const xz = await upload(`${qcow2}.xz`, `${qcow2}.xz`);
      expect(xz).toMatchObject({ disk_format: 'qcow2', container_format: 'compressed', min_disk: 1 });

      // A partitioned raw disk in gzip, read from standard input.
      const img = join(dir, 'inner.img');
      writeFileSync(img, '');
      truncateSync(img, 64 * MIB);
      run('sgdisk', ['-n1:0:+32M', '-t1:ef00', '-n2:0:0', '-t2:8300', img]);
      run('gzip', ['-k', '-f', img]);
      const gz = await upload(`${img}.gz`, '-', [], { stdin: createReadStream(`${img}.gz`) });
      expect(gz).toMatchObject({ disk_format: 'raw', container_format: 'compressed', hw_firmware_type: 'uefi', min_disk: 1 });

      // An OVA: the descriptor first, then the streamOptimized disk it names.
      const ovaDir = mkdtempSync(join(dir, 'ova-'));
      qemuImg(['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', rawWithData('ova.raw', 16 * MIB), join(ovaDir, 'disk1.vmdk')]);
      writeFileSync(
        join(ovaDir, 'appliance.ovf'),
        `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="16777216"/></DiskSection>
  <VirtualSystem ovf:id="vm"><Info>a machine</Info><OperatingSystemSection ovf:id="96"><Info>the OS</Info></OperatingSystemSection></VirtualSystem>
</Envelope>
`,
      );
      const ova = join(dir, 'appliance.ova');
      run('tar', ['--format=ustar', '-cf', ova, '-C', ovaDir, 'appliance.ovf', 'disk1.vmdk']);
      const image = await upload(ova, ova);
      expect(image).toMatchObject({ disk_format: 'vmdk', container_format: 'ova', vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic', os_type: 'linux' });
    });
  });

  describe('refusals leave nothing in Glance', () => {
    it('an unsafe qcow2 (a backing file) is refused, exit 1', async () => {
      const path = join(dir, 'unsafe.qcow2');
      qemuImg(['create', '-f', 'qcow2', '-u', '-b', '/etc/passwd', '-F', 'raw', path, '64M']);
      const before = await imageIds();
      const result = await cli(['upload', path, '--name', 'unsafe', ...noAuth()]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/refused .*unsafe.*backing_file/);
      expect(await imageIds()).toEqual(before);
    });

    it('a --disk-format the content contradicts is refused (a qcow2 declared raw), exit 1', async () => {
      const before = await imageIds();
      const result = await cli(['upload', join(dir, 'disk.qcow2'), '--name', 'confused', '--disk-format', 'raw', ...noAuth()]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/format confusion/);
      expect(await imageIds()).toEqual(before);
    });

    it('a failure on the way (the source ends in an error) deletes the record, exit 2', async () => {
      const before = await imageIds();
      const head = readFileSync(join(dir, 'disk.qcow2')).subarray(0, 1 * MIB);
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield head;
        throw new Error('the disk went away');
      }
      const result = await cli(['upload', '-', '--name', 'broken', ...noAuth()], { stdin: broken() });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/went away/);
      expect(await imageIds()).toEqual(before);
    });

    it('--allow-check waives a check: the unsafe qcow2 uploads', async () => {
      const result = await cli(['upload', join(dir, 'unsafe.qcow2'), '--name', 'waived', '--allow-check', 'backing_file', '--json', ...noAuth()]);
      expect(result.status).toBe(0);
      const { image } = JSON.parse(result.stdout) as { image: GlanceImage };
      expect(image.status).toBe('active');
      await client().deleteImage(image.id); // kept out of the audit's inventory
    });
  });

  // -------------------------------------------------------------------------------------
  // Audit

  describe('audit', () => {
    const planted: Record<string, string> = {};
    beforeAll(async () => {
      // Planted through the API directly, as Glance 25 accepts them.
      const glanceClient = client();
      const plant = async (name: string, path: string, fields: Record<string, unknown>) => {
        const image = await glanceClient.createImage({ name, container_format: 'bare', ...fields });
        await glanceClient.uploadImageData(image.id, readFileSync(path));
        planted[name] = image.id;
      };
      const smallQcow2 = join(dir, 'small.qcow2');
      qemuImg(['convert', '-O', 'qcow2', rawWithData('small.raw', 8 * MIB), smallQcow2]);
      const sparseVmdk = join(dir, 'sparse.vmdk');
      qemuImg(['convert', '-O', 'vmdk', '-o', 'subformat=monolithicSparse,adapter_type=ide', join(dir, 'small.raw'), sparseVmdk]);
      await plant('qcow2-declared-raw', smallQcow2, { disk_format: 'raw' });
      await plant('vmdk-declared-qcow2', sparseVmdk, { disk_format: 'qcow2' });
      await plant('unsafe-qcow2', join(dir, 'unsafe.qcow2'), { disk_format: 'qcow2' });
      await plant('vmdk-without-properties', sparseVmdk, { disk_format: 'vmdk' });
    });

    it('flags exactly the format-confused and unsafe images, exit 1, reading each by ranges', async () => {
      const inventory = (await allImages()).images;
      const before = glance.accessLog().length;
      const result = await cli(['audit', '--json', '-j', '2', ...noAuth()]);
      expect(result.status).toBe(1);
      const entries = JSON.parse(result.stdout) as AuditEntry[];
      // Every image, page after page (3 per page here).
      expect(entries.map((entry) => entry.id).sort()).toEqual(inventory.map((image) => image.id).sort());
      const withProblems = entries.filter((entry) => entry.problems.length > 0).map((entry) => entry.id).sort();
      expect(withProblems).toEqual([planted['qcow2-declared-raw'], planted['vmdk-declared-qcow2'], planted['unsafe-qcow2']].sort());
      const byId = new Map(entries.map((entry) => [entry.id, entry]));
      expect(byId.get(planted['qcow2-declared-raw'] as string)?.problems.join(' ')).toMatch(/disk_format: declared raw.*qcow2.*format confusion/);
      expect(byId.get(planted['vmdk-declared-qcow2'] as string)?.problems.join(' ')).toMatch(/disk_format: declared qcow2, but the content is vmdk/);
      expect(byId.get(planted['unsafe-qcow2'] as string)?.problems.join(' ')).toMatch(/unsafe: backing_file/);
      // Missing properties are proposals, not problems.
      expect(byId.get(planted['vmdk-without-properties'] as string)?.proposed).toEqual({ vmware_disktype: 'sparse', vmware_adaptertype: 'ide', min_disk: 1 });
      expect(byId.get(uploaded.vmdk?.id as string)?.proposed).toEqual({});

      // By ranges: what Glance's own access log says it served, against what the images hold.
      // Glance writes a line after its answer, so a loaded machine may show the last ones a
      // moment later: wait (at most 10 s) until the log holds as many as the audit reports.
      const reported = entries.reduce((sum, entry) => sum + (entry.reads?.requests ?? 0), 0);
      const servedSince = () => glance.accessLog().slice(before).filter((entry) => entry.path.endsWith('/file'));
      for (let attempt = 0; attempt < 100 && servedSince().length < reported; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const served = servedSince();
      expect(served.every((entry) => entry.method === 'GET' && entry.status === 206)).toBe(true);
      const servedBytes = served.reduce((sum, entry) => sum + entry.bytes, 0);
      const storedBytes = inventory.reduce((sum, image) => sum + (image.size ?? 0), 0);
      expect(storedBytes).toBeGreaterThan(256 * MIB);
      expect(servedBytes).toBeLessThan(4 * MIB);
      // eventlet logs the bytes it wrote, headers included: per request, a few hundred more than the body.
      for (const entry of entries) {
        const lines = served.filter((line) => line.path === `/v2/images/${entry.id}/file`);
        expect(lines.length, entry.name ?? '').toBe(entry.reads?.requests);
        const logged = lines.reduce((sum, line) => sum + line.bytes, 0);
        expect(logged - (entry.reads?.bytes ?? 0), entry.name ?? '').toBeGreaterThan(0);
        expect(logged - (entry.reads?.bytes ?? 0), entry.name ?? '').toBeLessThan(1024 * lines.length);
      }
      console.info(`audit of ${entries.length} images (${(storedBytes / MIB).toFixed(0)} MiB stored): ${served.length} range requests, ${(servedBytes / 1024).toFixed(0)} KiB served`);
    });

    it('--apply adds the missing properties, never touching disk_format or the data', async () => {
      const before = new Map((await allImages()).images.map((image) => [image.id, image]));
      const result = await cli(['audit', '--apply', '--json', ...noAuth()]);
      expect(result.status).toBe(1);
      const entries = JSON.parse(result.stdout) as Array<AuditEntry & { applied?: unknown[] }>;
      const fixed = await client().getImage(planted['vmdk-without-properties'] as string);
      expect(fixed).toMatchObject({ disk_format: 'vmdk', vmware_disktype: 'sparse', vmware_adaptertype: 'ide', min_disk: 1 });
      expect(entries.filter((entry) => entry.applied).map((entry) => entry.id)).toEqual([planted['vmdk-without-properties']]);
      for (const image of (await allImages()).images) {
        const earlier = before.get(image.id) as GlanceImage;
        expect(image.disk_format, image.name ?? '').toBe(earlier.disk_format);
        expect(image.container_format).toBe(earlier.container_format);
        expect(image.os_hash_value).toBe(earlier.os_hash_value);
        expect(image.size).toBe(earlier.size);
      }
      // An image with a problem is left for a human: no VMware properties on the VMDK declared qcow2.
      expect(await client().getImage(planted['vmdk-declared-qcow2'] as string)).not.toHaveProperty('vmware_disktype');
      // The next audit proposes nothing more for it.
      const again = JSON.parse((await cli(['audit', '--json', ...noAuth()])).stdout) as AuditEntry[];
      expect(again.find((entry) => entry.id === planted['vmdk-without-properties'])?.proposed).toEqual({});
    });

    it('a text report names each image and the problems', async () => {
      const result = await cli(['audit', ...noAuth()]);
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/PROBLEM +\S+ "qcow2-declared-raw"/);
      expect(result.stdout).toMatch(/ok +\S+ "stream\.vmdk"/);
      expect(result.stdout).toMatch(/images, 3 with problems; read \d+ bytes in \d+ range requests/);
    });
  });

  // -------------------------------------------------------------------------------------
  // The client

  describe('client', () => {
    it('reads an image by ranges: the size from Content-Range, the bytes as stored', async () => {
      const image = uploaded.vhdx as GlanceImage;
      const source = await client().openImageData(image.id);
      const file = readFileSync(join(dir, 'disk.vhdx'));
      expect(source.size).toBe(file.byteLength);
      expect(Buffer.from(await source.read(1234567, 4096)).equals(file.subarray(1234567, 1234567 + 4096))).toBe(true);
      expect(Buffer.from(await source.read(file.byteLength - 100, 4096)).equals(file.subarray(file.byteLength - 100))).toBe(true);
      expect(source.requests).toBe(3);
    });

    it('an empty image has size 0 (Glance answers 416 to a range of it)', async () => {
      const glanceClient = client();
      const image = await glanceClient.createImage({ name: 'empty', disk_format: 'raw', container_format: 'bare' });
      try {
        await glanceClient.uploadImageData(image.id, new Uint8Array(0));
        expect((await glanceClient.getImage(image.id)).size).toBe(0);
        const source = await glanceClient.openImageData(image.id);
        expect(source.size).toBe(0);
        expect(await source.read(0, 10)).toHaveLength(0);
      } finally {
        await glanceClient.deleteImage(image.id);
      }
    });

    it('a URL that answers an error is not uploaded: exit 2 naming the status', async () => {
      const before = await imageIds();
      const result = await cli(['upload', `${glance.url}/v2/images/00000000-0000-0000-0000-000000000000/file`, '--name', 'from-404', ...noAuth()]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/answered 404/);
      expect(await imageIds()).toEqual(before);
    });

    it('HTTP errors are SOURCE_ERROR naming the status and the URL', async () => {
      const error = await client()
        .getImage('00000000-0000-0000-0000-000000000000')
        .then(() => undefined, (caught: unknown) => caught);
      expect(isIntrospectionError(error) && error.code).toBe('SOURCE_ERROR');
      expect((error as Error).message).toContain(`GET ${glance.url}/v2/images/00000000-0000-0000-0000-000000000000 answered 404`);
    });

    it('CORS lets a page of the configured origin upload and read ranges', async () => {
      const preflight = await fetch(`${glance.url}/v2/images/x/file`, {
        method: 'OPTIONS',
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type,range,x-auth-token' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range');
      const read = await fetch(`${glance.url}/v2/images/${uploaded.vhd?.id}/file`, { headers: { Origin: ORIGIN, Range: 'bytes=0-511' } });
      await read.arrayBuffer();
      expect(read.status).toBe(206);
      expect(read.headers.get('access-control-expose-headers')).toContain('Content-Range');
      const other = await fetch(`${glance.url}/v2/images`, { headers: { Origin: 'http://elsewhere.example' } });
      await other.arrayBuffer();
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  // -------------------------------------------------------------------------------------
  // Keystone

  describe('Keystone', () => {
    const passwordEnv = () => ({
      OS_AUTH_URL: keystone.authUrl,
      OS_USERNAME: keystone.user.username,
      OS_PASSWORD: keystone.user.password,
      OS_PROJECT_NAME: keystone.user.projectName,
      OS_USER_DOMAIN_NAME: keystone.user.domainName,
      OS_PROJECT_DOMAIN_NAME: keystone.user.domainName,
      OS_REGION_NAME: 'RegionOne',
    });

    it('password auth from OS_* variables: a token and the image endpoint from the catalog', async () => {
      const session = await authenticate({
        authUrl: keystone.authUrl,
        username: keystone.user.username,
        password: keystone.user.password,
        projectName: keystone.user.projectName,
        regionName: 'RegionOne',
      });
      expect(session.endpoint).toBe(glance.url);
      expect(session.token).toMatch(/^gAAAAA/); // a Fernet token
      const result = await cli(['audit', '--json'], { env: passwordEnv() });
      expect(result.stderr).toBe('');
      expect((JSON.parse(result.stdout) as AuditEntry[]).length).toBe((await imageIds()).length);
    });

    it('application-credential auth from clouds.yaml: an upload', async () => {
      const cwd = mkdtempSync(join(dir, 'cloud-'));
      writeFileSync(
        join(cwd, 'clouds.yaml'),
        `clouds:\n  test:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${keystone.authUrl.replace(/\/v3$/, '')}\n      application_credential_id: ${keystone.applicationCredential.id}\n      application_credential_secret: ${keystone.applicationCredential.secret}\n    region_name: RegionOne\n`,
      );
      const path = join(dir, 'small.qcow2');
      const result = await cli(['upload', path, '--name', 'via-application-credential', '--json', '--os-cloud', 'test'], { cwd });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const { image } = JSON.parse(result.stdout) as { image: GlanceImage };
      expect(image).toMatchObject({ status: 'active', disk_format: 'qcow2', os_hash_value: sha512(path) });
      await client().deleteImage(image.id);
    });

    it('a token: re-scoped through Keystone, or sent as it is to an endpoint given', async () => {
      const { token } = await authenticate({ authUrl: keystone.authUrl, username: keystone.user.username, password: keystone.user.password, projectName: keystone.user.projectName });
      const validated = await authenticate({ authUrl: keystone.authUrl, token, regionName: 'RegionOne' });
      expect(validated).toMatchObject({ endpoint: glance.url, token });
      const rescoped = await authenticate({ authUrl: keystone.authUrl, token, projectId: keystone.user.projectId, regionName: 'RegionOne' });
      expect(rescoped.endpoint).toBe(glance.url);
      expect(rescoped.token).not.toBe(token);
      const direct = await cli(['audit', '--json', '--os-token', token as string, '--os-endpoint', glance.url]);
      expect(direct.stderr).toBe('');
    });

    it('the interface and region choose the endpoint; a wrong one fails with the reason, exit 2', async () => {
      const internal = await cli(['audit', '--os-interface', 'internal'], { env: passwordEnv() });
      expect(internal.status).toBe(2);
      expect(internal.stderr).toContain(`GET ${DEAD_ENDPOINT}/v2/images failed`);
      const nowhere = await cli(['audit'], { env: { ...passwordEnv(), OS_REGION_NAME: 'RegionNine' } });
      expect(nowhere.status).toBe(2);
      expect(nowhere.stderr).toMatch(/no public image endpoint in region RegionNine \(image endpoints: public@RegionOne, internal@RegionOne\)/);
    });

    it('a wrong password is Keystone’s 401, exit 2, and the password is not printed', async () => {
      const result = await cli(['audit'], { env: { ...passwordEnv(), OS_PASSWORD: 'not-the-password' } });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/POST .*\/v3\/auth\/tokens answered 401/);
      expect(result.stderr).not.toContain('not-the-password');
    });
  });
});
