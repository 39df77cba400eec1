/**
 * The architecture an executable was built for, named as libguestfs names it
 * (`daemon/filearch.ml`, which reads the output of `file`).
 *
 * ELF header (System V ABI, "ELF Header"; fields after `e_ident` in the file's byte order):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | `\x7fELF` |
 * | 4 | 1 | `EI_CLASS`: 1 32-bit, 2 64-bit |
 * | 5 | 1 | `EI_DATA`: 1 little-endian (`LSB`), 2 big-endian (`MSB`) |
 * | 16 | 2 | `e_type`: 1 relocatable, 2 executable, 3 shared object (what `file` names and libguestfs accepts) |
 * | 18 | 2 | `e_machine` |
 *
 * | `e_machine` | libguestfs's name |
 * | --- | --- |
 * | 3 (386), 6 (486) | `i386` |
 * | 62 (x86-64) | `x86_64` |
 * | 2 (SPARC), 18 (SPARC32PLUS) | `sparc` |
 * | 43 (SPARC V9) | `sparc64` |
 * | 50 (IA-64) | `ia64` |
 * | 20 (PowerPC) | `ppc` |
 * | 21 (64-bit PowerPC) | `ppc64` (big-endian), `ppc64le` (little-endian) |
 * | 40 (ARM) | `arm` |
 * | 183 (AArch64) | `aarch64` |
 * | 243 (RISC-V) | `riscv32`, `riscv64` (by class) |
 * | 22 (S/390) | `s390`, `s390x` (by class) |
 * | 258 (LoongArch) | `loongarch32`, `loongarch64` (by class) |
 *
 * PE (Microsoft PE/COFF specification: `MZ`, the PE header's offset at 0x3C, `PE\0\0`, then
 * the COFF header's `Machine` at +4 and the optional header's magic at +24): libguestfs says
 * `i386` for `PE32` and `x86_64` for `PE32+` whatever the machine. Here the `Machine` field
 * decides (0x014C `i386`, 0x8664 `x86_64`, 0xAA64 `aarch64`, 0x01C4 and 0x01C2 `arm`, 0x0200
 * `ia64`), which agrees with libguestfs for x86 and names an ARM64 Windows `aarch64` where
 * libguestfs would say `x86_64`; other machines fall back to libguestfs's rule.
 *
 * @module
 */
import { u16be, u16le, u32le } from '../src/bytes.js';

/** Bytes of an ELF file needed to name its architecture. */
export const ELF_HEADER_BYTES = 20;
/** Furthest PE header looked for: `e_lfanew` beyond it is refused (linkers put it within the first KiB). */
export const MAX_PE_HEADER_OFFSET = 64 * 1024;

const ELF_MACHINES: ReadonlyMap<number, string | ((bits: 32 | 64, bigEndian: boolean) => string)> = new Map<number, string | ((bits: 32 | 64, bigEndian: boolean) => string)>([
  [3, 'i386'],
  [6, 'i386'],
  [62, 'x86_64'],
  [2, 'sparc'],
  [18, 'sparc'],
  [43, 'sparc64'],
  [50, 'ia64'],
  [20, 'ppc'],
  [21, (_bits, bigEndian) => (bigEndian ? 'ppc64' : 'ppc64le')],
  [40, 'arm'],
  [183, 'aarch64'],
  [243, (bits) => `riscv${bits}`],
  [22, (bits) => (bits === 64 ? 's390x' : 's390')],
  [258, (bits) => `loongarch${bits}`],
]);

/** The architecture of an ELF executable, shared object or relocatable file; `undefined` when `bytes` is not one or names no known machine. */
export function elfArchitecture(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength < ELF_HEADER_BYTES || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const bits = bytes[4] === 1 ? 32 : bytes[4] === 2 ? 64 : undefined;
  const bigEndian = bytes[5] === 2 ? true : bytes[5] === 1 ? false : undefined;
  if (bits === undefined || bigEndian === undefined) return undefined;
  const read16 = bigEndian ? u16be : u16le;
  const type = read16(bytes, 16);
  if (type < 1 || type > 3) return undefined;
  const name = ELF_MACHINES.get(read16(bytes, 18));
  return typeof name === 'function' ? name(bits, bigEndian) : name;
}

const PE_MACHINES: ReadonlyMap<number, string> = new Map([
  [0x014c, 'i386'],
  [0x8664, 'x86_64'],
  [0xaa64, 'aarch64'],
  [0x01c4, 'arm'],
  [0x01c2, 'arm'],
  [0x0200, 'ia64'],
]);

/** Where the PE header starts (`e_lfanew`), or `undefined` when `head` is not an MZ executable or points too far. */
export function peHeaderOffset(head: Uint8Array): number | undefined {
  if (head.byteLength < 0x40 || head[0] !== 0x4d || head[1] !== 0x5a) return undefined;
  const offset = u32le(head, 0x3c);
  return offset <= MAX_PE_HEADER_OFFSET ? offset : undefined;
}

/** The architecture of a PE image whose PE header (26 bytes at least) is `header`; `undefined` when it is not one. */
export function peArchitecture(header: Uint8Array): string | undefined {
  if (header.byteLength < 26 || header[0] !== 0x50 || header[1] !== 0x45 || header[2] !== 0 || header[3] !== 0) return undefined;
  const machine = PE_MACHINES.get(u16le(header, 4));
  if (machine !== undefined) return machine;
  const magic = u16le(header, 24);
  if (magic === 0x10b) return 'i386';
  if (magic === 0x20b) return 'x86_64';
  return undefined;
}

/**
 * Bytes of a file's start {@link executableArchitecture} reads first: an ELF header's first
 * 20 bytes, or the 64-byte MZ header that says where the PE header is (read next, 26 bytes).
 * `file`, which libguestfs asks (`daemon/filearch.ml`), decides from these fields too; the
 * rest of the file's first page is code and padding.
 */
export const EXECUTABLE_HEAD_BYTES = 64;

/**
 * The architecture of an ELF or PE file, given a way to read its bytes; `undefined` when it
 * is neither or names no known machine.
 */
export async function executableArchitecture(read: (offset: number, length: number) => Promise<Uint8Array | undefined>): Promise<string | undefined> {
  const head = await read(0, EXECUTABLE_HEAD_BYTES);
  if (head === undefined) return undefined;
  const elf = elfArchitecture(head);
  if (elf !== undefined) return elf;
  const offset = peHeaderOffset(head);
  if (offset === undefined) return undefined;
  const header = offset + 26 <= head.byteLength ? head.subarray(offset, offset + 26) : await read(offset, 26);
  return header === undefined ? undefined : peArchitecture(header);
}
