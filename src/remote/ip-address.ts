/**
 * IP addresses and CIDR ranges as numbers, for the URL filter: parsing the forms a URL
 * parser or a resolver produces, and finding the IPv4 address an IPv6 one carries.
 *
 * Only canonical forms are parsed here: the WHATWG URL parser has already turned
 * `2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` into `127.0.0.1` (so a filter that
 * checks `URL.hostname` sees the address the connection will use), and resolvers return
 * dotted quads and RFC 5952 text. Anything else is not an address (`undefined`).
 *
 * @module
 */

/** An address: its family and its value (32 or 128 bits). */
export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

/** A CIDR range: every address whose first `prefix` bits are those of `base`. */
export interface IpRange {
  readonly version: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
  /** As written, for messages. */
  readonly text: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A dotted-quad IPv4 address (each part 0-255, no leading-zero octal). */
export function parseIpv4(text: string): IpAddress | undefined {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  let value = 0n;
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = (value << 8n) | BigInt(byte);
  }
  return { version: 4, value };
}

/** An IPv6 address in any RFC 4291 text form (`::` once, a dotted quad at the end), without brackets; a zone (`%eth0`) is ignored. */
export function parseIpv6(text: string): IpAddress | undefined {
  const address = text.replace(/%.*$/, '');
  if (address === '' || /[^0-9a-fA-F:.]/.test(address)) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let index = 0; index < pieces.length; index += 1) {
      const piece = pieces[index] as string;
      if (index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4.value >> 16n), Number(v4.value & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        groups.push(Number.parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return { version: 6, value };
}

/** An address as a URL hostname holds it (`127.0.0.1`, `[::1]`) or a resolver returns it (`::1`); `undefined` for a name. */
export function parseIpAddress(host: string): IpAddress | undefined {
  if (host.startsWith('[') && host.endsWith(']')) return parseIpv6(host.slice(1, -1));
  return parseIpv4(host) ?? (host.includes(':') ? parseIpv6(host) : undefined);
}

/** Parses `a.b.c.d/n` or `x::/n` (a bare address is its own /32 or /128); `undefined` if it is not one. */
export function parseIpRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const address = parseIpAddress(slash === -1 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const bits = address.version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { version: address.version, base: address.value, prefix, text };
}

/** Whether `address` lies in `range`. */
export function inRange(address: IpAddress, range: IpRange): boolean {
  if (address.version !== range.version) return false;
  const shift = BigInt((address.version === 4 ? 32 : 128) - range.prefix);
  return address.value >> shift === range.base >> shift;
}

const V6 = (text: string): bigint => (parseIpv6(text) as IpAddress).value;
/** `::ffff:0:0/96`, IPv4-mapped (RFC 4291 2.5.5.2): the connection goes to the IPv4 address. */
const MAPPED_PREFIX = V6('::ffff:0:0') >> 32n;
/** `64:ff9b::/96`, the NAT64 well-known prefix (RFC 6052): a translator forwards to the IPv4 address. */
const NAT64_PREFIX = V6('64:ff9b::') >> 32n;
/** `2002::/16`, 6to4 (RFC 3056): bits 16-47 are an IPv4 address. */
const SIX_TO_FOUR_PREFIX = 0x2002n;
/** `2001::/32`, Teredo (RFC 4380): the client's IPv4 address is the last 32 bits, inverted. */
const TEREDO_PREFIX = 0x20010000n;

/**
 * The IPv4 address an IPv6 address leads to: IPv4-mapped and IPv4-compatible addresses
 * (`::ffff:127.0.0.1`, `::127.0.0.1`), NAT64 (`64:ff9b::7f00:1`), 6to4 (`2002:7f00:1::`) and a
 * Teredo client. These are how a filter that only looked at IPv6 ranges would be bypassed.
 */
export function embeddedIpv4(address: IpAddress): IpAddress | undefined {
  if (address.version !== 6) return undefined;
  const low32 = address.value & 0xffffffffn;
  const high96 = address.value >> 32n;
  if (high96 === MAPPED_PREFIX || high96 === NAT64_PREFIX) return { version: 4, value: low32 };
  // IPv4-compatible (deprecated, RFC 4291 2.5.5.1): ::a.b.c.d, except :: and ::1.
  if (high96 === 0n && low32 > 1n) return { version: 4, value: low32 };
  if (address.value >> 112n === SIX_TO_FOUR_PREFIX) return { version: 4, value: (address.value >> 80n) & 0xffffffffn };
  if (address.value >> 96n === TEREDO_PREFIX) return { version: 4, value: low32 ^ 0xffffffffn };
  return undefined;
}

/** The address as text (dotted quad, or full lower-case IPv6 groups), for messages. */
export function formatIpAddress(address: IpAddress): string {
  if (address.version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((address.value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}
