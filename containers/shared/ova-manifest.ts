/**
 * The companions of an OVF descriptor in a package (DSP0243 5.1): the manifest
 * (`<name>.mf`), one digest per line, and the certificate (`<name>.cert`), which signs the
 * manifest's digest and carries the signer's X.509 certificate.
 *
 * Manifest lines, as the exporters write them:
 *
 * | writer | line |
 * | --- | --- |
 * | VMware ovftool, vSphere | `SHA256(disk1.vmdk)= 3f2a...` (also `SHA1`, `SHA512`) |
 * | VirtualBox (IPRT `RTManifest`) | `SHA256 (disk1.vmdk) = 3f2a...` (also `SHA1`, `SHA512`, `MD5`) |
 *
 * Certificate: a line `SHA256(name.mf)= <signature hex>` then a PEM
 * `-----BEGIN CERTIFICATE-----` block. Only its shape is read here; checking a signature is
 * the caller's business (this library does no cryptography).
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';

/** The largest manifest or certificate read: 1 MiB (one 80-byte line per file; real ones are a few hundred bytes). */
export const OVA_MAX_MANIFEST_BYTES = 1024 * 1024;

/** The most digest lines read from a manifest: 10,000. */
export const OVA_MAX_MANIFEST_ENTRIES = 10_000;

/** A digest algorithm a manifest may name, with its digest length in hex digits. */
export const OVA_DIGEST_HEX_LENGTHS: Readonly<Record<OvaDigestAlgorithm, number>> = { MD5: 32, SHA1: 40, SHA256: 64, SHA384: 96, SHA512: 128 };

/** Digest algorithms (upper case, as written). */
export type OvaDigestAlgorithm = 'MD5' | 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512';

/** One manifest line. */
export interface OvaManifestEntry {
  algorithm: OvaDigestAlgorithm;
  /** The file the digest is of, as written. */
  file: string;
  /** The digest, lower-case hex. */
  digest: string;
}

/** A parsed manifest. */
export interface OvaManifest {
  entries: OvaManifestEntry[];
  /** Lines that are not digest lines (1-based line numbers, with the reason). */
  problems: Array<{ line: number; problem: string }>;
}

/** What a certificate file holds. */
export interface OvaCertificate {
  /** The signature line's algorithm and signed file (the manifest), if there is one. */
  algorithm?: string;
  signedFile?: string;
  /** Hex digits of the signature. */
  signatureLength?: number;
  /** PEM `CERTIFICATE` blocks. */
  certificateCount: number;
}

const LINE = /^(MD5|SHA1|SHA256|SHA384|SHA512)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)\s*$/;

function text(bytes: Uint8Array, field: string): string {
  if (bytes.byteLength > OVA_MAX_MANIFEST_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', field, `${bytes.byteLength} bytes is above the ${OVA_MAX_MANIFEST_BYTES}-byte cap`);
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * Reads a manifest. Lines that are blank are skipped; other lines that are not
 * `ALGORITHM(file)= hex` with a digest of the algorithm's length are listed in `problems`
 * (ovftool refuses such a manifest; the caller decides). More than
 * {@link OVA_MAX_MANIFEST_ENTRIES} lines is `LIMIT_EXCEEDED`.
 */
export function parseOvaManifest(bytes: Uint8Array): OvaManifest {
  const field = 'ova manifest';
  const lines = text(bytes, field).split(/\r?\n/);
  const manifest: OvaManifest = { entries: [], problems: [] };
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] as string).trim();
    if (line === '') continue;
    if (manifest.entries.length + manifest.problems.length >= OVA_MAX_MANIFEST_ENTRIES) {
      throw fieldError('LIMIT_EXCEEDED', field, `more than ${OVA_MAX_MANIFEST_ENTRIES} lines`);
    }
    const match = LINE.exec(line);
    if (match === null) {
      manifest.problems.push({ line: index + 1, problem: 'not "ALGORITHM(file)= digest"' });
      continue;
    }
    const algorithm = match[1] as OvaDigestAlgorithm;
    const digest = (match[3] as string).toLowerCase();
    if (digest.length !== OVA_DIGEST_HEX_LENGTHS[algorithm]) {
      manifest.problems.push({ line: index + 1, problem: `a ${algorithm} digest has ${OVA_DIGEST_HEX_LENGTHS[algorithm]} hex digits, not ${digest.length}` });
      continue;
    }
    manifest.entries.push({ algorithm, file: (match[2] as string).trim(), digest });
  }
  return manifest;
}

/** Reads the shape of a certificate file: its signature line and how many certificates it carries. */
export function parseOvaCertificate(bytes: Uint8Array): OvaCertificate {
  const content = text(bytes, 'ova certificate');
  const certificate: OvaCertificate = { certificateCount: (content.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length };
  for (const line of content.split(/\r?\n/)) {
    const match = LINE.exec(line.trim());
    if (match === null) continue;
    certificate.algorithm = match[1] as string;
    certificate.signedFile = (match[2] as string).trim();
    certificate.signatureLength = (match[3] as string).length;
    break;
  }
  return certificate;
}

/**
 * The manifest and certificate names that belong to a descriptor (`vm.ovf` → `vm.mf`,
 * `vm.cert`), and which of them `members` holds.
 */
export function ovaCompanions(descriptorName: string, members: Iterable<string>): { manifest?: string; certificate?: string } {
  const base = descriptorName.replace(/\.ovf$/i, '');
  const strip = (name: string) => name.replace(/^(\.\/)+/, '');
  const wanted = { manifest: `${strip(base)}.mf`, certificate: `${strip(base)}.cert` };
  const found: { manifest?: string; certificate?: string } = {};
  for (const member of members) {
    const name = strip(member);
    if (name.toLowerCase() === wanted.manifest.toLowerCase()) found.manifest = member;
    else if (name.toLowerCase() === wanted.certificate.toLowerCase()) found.certificate = member;
  }
  return found;
}
