/**
 * The URL filter: address parsing and ranges against Node's own `net.BlockList` and
 * `net.isIP` (the oracle), and the SSRF bypasses Glance had to fix, end to end against a
 * real server on 127.0.0.1 (a refused request never reaches it).
 */
import type { LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFormats } from '../../formats/index.js';
import { introspectUrl as introspectUrlWithFetch } from '../../src/index.js';
import { embeddedIpv4, formatIpAddress, parseIpAddress } from '../../src/remote/ip-address.js';
import { introspectUrlWith } from '../../src/remote/introspect-url.js';
import { nodeTransport } from '../../src/node-transport.js';
import { CompiledUrlFilter, SERVICE_URL_FILTER, SPECIAL_PURPOSE_RANGES, type UrlFilter } from '../../src/remote/url-filter.js';
import { introspectUrl } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.mjs';

describe('addresses and ranges (oracle: net.BlockList, net.isIP)', () => {
  const blockList = new BlockList();
  for (const range of SPECIAL_PURPOSE_RANGES) {
    const [address, prefix] = range.split('/') as [string, string];
    blockList.addSubnet(address, Number(prefix), address.includes(':') ? 'ipv6' : 'ipv4');
  }
  // Only the ranges: the embedded-IPv4 rule is checked on its own below.
  const filter = CompiledUrlFilter.compile({ deniedRanges: SPECIAL_PURPOSE_RANGES });
  const inRanges = (text: string) => filter.checkAddress(text) !== undefined;

  it('IPv4: denied exactly where BlockList says', () => {
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        expect(inRanges(address)).toBe(blockList.check(address, 'ipv4'));
      }),
      { numRuns: 3000 },
    );
  });

  it('IPv6: parsed as net.isIP parses it, and denied where BlockList says (unless it leads to an IPv4 address)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        expect(parseIpAddress(address)?.version).toBe(isIP(address) === 6 ? 6 : undefined);
        const parsed = parseIpAddress(address);
        if (parsed === undefined || embeddedIpv4(parsed) !== undefined) return;
        expect(inRanges(address)).toBe(blockList.check(address, 'ipv6'));
      }),
      { numRuns: 3000 },
    );
  });

  it('an IPv6 address that leads to an IPv4 one is judged as that address too', () => {
    for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1', '::10.0.0.1']) {
      expect(inRanges(address), address).toBe(true);
    }
    expect(formatIpAddress(embeddedIpv4(parseIpAddress('2001:0:4136:e378:8000:63bf:3fff:fdd2') as never) as never)).toBe('192.0.2.45');
    for (const address of ['::ffff:8.8.8.8', '64:ff9b::808:808', '2606:4700::1111']) expect(inRanges(address), address).toBe(false);
  });

  it('anything else is not an address', () => {
    for (const text of ['0177.0.0.1', '127.1', '1.2.3.256', '::1::', '1:2:3:4:5:6:7:8:9', 'example.com', '']) {
      expect(parseIpAddress(text), text).toBe(isIP(text) === 0 ? undefined : parseIpAddress(text));
    }
  });
});

describe('SSRF bypasses Glance fixed (bugs 2138602, 2158998): refused before any request', () => {
  let server: RangeServer;
  beforeAll(async () => {
    server = await startRangeServer();
    server.add('disk.qcow2', fixtureBytes('qcow2', 'converted.qcow2'));
  });
  afterAll(() => server.close());

  // Ports are not what these tests are about: any port, otherwise the service filter.
  const service: UrlFilter = { allowedPorts: [] };

  it('encoded addresses (decimal, hexadecimal, octal, short forms) and IPv6 forms of 127.0.0.1', async () => {
    const port = server.port;
    const hosts = ['2130706433', '0x7f000001', '0x7f.0.0.1', '0177.0.0.1', '017700000001', '127.1', '127.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]', '[0:0:0:0:0:ffff:7f00:1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]', '0'];
    for (const host of hosts) {
      server.reset();
      const error = await rejectionOf(introspectUrl(`http://${host}:${port}/ranges/disk.qcow2`, { urlFilter: service }));
      expect(error.code, host).toBe('INVALID_ARGUMENT');
      expect(error.message, host).toMatch(/refused by the URL filter: the address .* is in the denied range/);
      expect(server.log, host).toHaveLength(0);
    }
  });

  it('a redirect to an internal address or name is refused before it is followed', async () => {
    // The first hop is allowed (127.0.0.1 is an exception here); where it leads is not.
    const filter: UrlFilter = { allowedPorts: [], allowedRanges: ['127.0.0.1/32'] };
    const internal = [`http://127.0.0.2:${server.port}/ranges/disk.qcow2`, `http://169.254.169.254/latest/meta-data/`, `http://[::1]:${server.port}/ranges/disk.qcow2`, `http://localhost:${server.port}/ranges/disk.qcow2`, `http://2852039166/`];
    for (const target of internal) {
      server.reset();
      const error = await rejectionOf(introspectUrl(`${server.url}/redirect-to/${encodeURIComponent(target)}`, { urlFilter: filter }));
      expect(error.code, target).toBe('SOURCE_ERROR');
      expect(error.message, target).toMatch(/redirected to .* which the URL filter refuses/);
      expect(server.log.map((entry) => entry.path.split('/')[1]), target).toEqual(['redirect-to']);
    }
    // The same redirect to an allowed place is followed.
    server.reset();
    const info = await introspectUrl(`${server.url}/redirect-to/${encodeURIComponent(`${server.url}/ranges/disk.qcow2`)}`, { urlFilter: filter });
    expect(info.format).toBe('qcow2');
  });

  it('a name that resolves to a denied address is refused at connection time (no request reaches the server)', async () => {
    server.reset();
    const error = await rejectionOf(introspectUrl(`http://localhost:${server.port}/ranges/disk.qcow2`, { urlFilter: { ...service, deniedHosts: [] } }));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/localhost is refused by the URL filter: the address (127\.0\.0\.1|0:0:0:0:0:0:0:1) is in the denied range/);
    expect(server.log).toHaveLength(0);
  });

  it('DNS rebinding: each connection uses the addresses its one lookup returned and the filter passed', async () => {
    const options: UrlFilter = { allowedPorts: [], deniedHosts: [], allowedRanges: ['127.0.0.1/32'] };
    const filter = CompiledUrlFilter.compile(options);
    const answers: LookupAddress[][] = [
      [
        { address: '10.0.0.1', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    ];
    let lookups = 0;
    const resolver = async () => answers[Math.min(lookups++, answers.length - 1)] as LookupAddress[];
    server.reset();
    const info = await introspectUrlWith(`http://rebinding.test:${server.port}/ranges/disk.qcow2`, { urlFilter: options }, allFormats, { transport: () => nodeTransport(filter, resolver) });
    expect(info.format).toBe('qcow2');
    expect(lookups).toBe(1);
    // Now the name answers only a denied address: no connection is made.
    answers[0] = [{ address: '127.0.0.2', family: 4 }];
    lookups = 0;
    server.reset();
    const error = await rejectionOf(introspectUrlWith(`http://rebinding.test:${server.port}/ranges/disk.qcow2`, { urlFilter: options }, allFormats, { transport: () => nodeTransport(filter, resolver) }));
    expect(error.message).toMatch(/rebinding\.test is refused by the URL filter: the address 127\.0\.0\.2/);
    expect(server.log).toHaveLength(0);
  });

  it('the default filter refuses loopback, private and metadata addresses, other ports, other schemes and credentials in the URL', async () => {
    for (const url of [
      `${server.url}/ranges/disk.qcow2`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/disk.qcow2',
      'http://[fd00:ec2::254]/',
      'http://example.com:8080/disk.qcow2',
      'file:///etc/passwd',
      'ftp://example.com/disk.qcow2',
      'http://user:password@example.com/disk.qcow2',
      'http://metadata.google.internal/',
      'http://printer.local/',
    ]) {
      const error = await rejectionOf(introspectUrl(url));
      expect(error.code, url).toBe('INVALID_ARGUMENT');
      expect(error.message, url).toMatch(/refused by the URL filter/);
    }
  });

  it('allow lists are exclusive; deny lists refuse (Glance semantics)', () => {
    const check = (filter: UrlFilter, url: string) => CompiledUrlFilter.compile(filter).checkUrl(new URL(url));
    expect(check({ allowedHosts: ['images.example.com', '*.mirror.example'] }, 'https://images.example.com/x')).toBeUndefined();
    expect(check({ allowedHosts: ['images.example.com', '*.mirror.example'] }, 'https://eu.mirror.example/x')).toBeUndefined();
    expect(check({ allowedHosts: ['images.example.com', '*.mirror.example'] }, 'https://mirror.example/x')).toMatch(/not in allowedHosts/);
    expect(check({ allowedHosts: ['images.example.com'] }, 'https://IMAGES.example.com./x')).toBeUndefined();
    expect(check({ deniedHosts: ['bad.example'] }, 'https://bad.example/x')).toMatch(/denied/);
    expect(check({ allowedPorts: [8443] }, 'https://example.com:8443/x')).toBeUndefined();
    expect(check({ allowedPorts: [8443] }, 'https://example.com/x')).toMatch(/port 443/);
    expect(check({ allowedPorts: [], deniedPorts: [22] }, 'http://example.com:22/x')).toMatch(/port 22 is denied/);
    expect(check({ schemes: ['https'] }, 'http://example.com/x')).toMatch(/scheme http/);
    expect(check({ allowedRanges: ['10.1.0.0/16'] }, 'http://10.1.2.3/x')).toBeUndefined();
    expect(check({ allowedRanges: ['10.1.0.0/16'] }, 'http://10.2.0.1/x')).toMatch(/10\.0\.0\.0\/8/);
    expect(check('permissive' as never, 'http://127.0.0.1:9/x')).toBeUndefined();
    expect(SERVICE_URL_FILTER.allowedPorts).toEqual([80, 443]);
  });

  it('a filter that is not one is INVALID_ARGUMENT', () => {
    for (const filter of [{ allowedRanges: ['10.0.0.0/33'] }, { deniedRanges: ['x'] }, { schemes: ['ftp'] }, { allowedPorts: [0] }, { allowedHost: [] }, 'open', 5]) {
      expect(() => CompiledUrlFilter.compile(filter as never), JSON.stringify(filter)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('in Node, the root introspectUrl (plain fetch, which resolves names itself) refuses names the address rules would have to judge', async () => {
    const error = await rejectionOf(introspectUrlWithFetch(`http://localhost:${server.port}/ranges/disk.qcow2`, { urlFilter: { ...service, deniedHosts: [] } }));
    expect(error.message).toMatch(/use introspectUrl from image-introspect\/node/);
    // Without address rules, a name is fine.
    const info = await introspectUrlWithFetch(`http://localhost:${server.port}/ranges/disk.qcow2`, { urlFilter: { ...service, deniedHosts: [], deniedRanges: [] } });
    expect(info.format).toBe('qcow2');
  });
});
