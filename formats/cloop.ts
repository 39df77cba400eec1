/**
 * cloop: compressed loop images (Knoppix and other live CDs), version 2.0.
 *
 * A shell-script preamble padded to 128 bytes, then two big-endian u32 (block size, block
 * count), then a table of block count + 1 u64 offsets, then the zlib-compressed blocks
 * (cloop compressed_loop.h). The virtual size is block count x block size, qemu 7.2's rule
 * (block/cloop.c cloop_open), computed without qemu's 32-bit overflow (see docs/formats/cloop.md).
 *
 * qemu recognises the exact preamble `#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount
 * -r -t iso9660 /dev/cloop $1\n`; we recognise its first two lines, which name the format.
 * Version 3 and 4 images (header possibly at the end, several compressors) are not recognised.
 *
 * @module
 */
import { cutAtNul, latin1Text, safeNumber } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { CLOOP_HEADER_SIZE, decodeCloopHeader } from './generated/cloop.js';

/** The first two lines of a version 2.0 preamble. */
export const CLOOP_V2_SIGNATURE = '#!/bin/sh\n#V2.0 Format\n';
/** Where the offsets table starts: after the 128-byte preamble and the two counts. */
export const CLOOP_OFFSETS_START = 136;
/** qemu refuses blocks larger than 64 MiB (block/cloop.c MAX_BLOCK_SIZE). */
export const CLOOP_QEMU_MAX_BLOCK_SIZE = 64 * 1024 * 1024;
const SECTOR_SIZE = 512;

/** cloop metadata. */
export interface CloopDetails {
  /** The format version named by the preamble's second line (`2.0`). */
  version: string;
  /** The preamble text, up to its first NUL. */
  preamble: string;
  /** Uncompressed block size in bytes. */
  blockSize: number;
  /** Number of blocks. */
  blockCount: number;
  /** Where the first compressed block starts (the first entry of the offsets table). */
  firstBlockOffset: number;
}

function checkBlockSize(blockSize: number): void {
  // cloop's own tools and qemu both require whole sectors; a zero size would hold nothing.
  if (blockSize === 0 || blockSize % SECTOR_SIZE !== 0) {
    throw fieldError('CORRUPT', 'header.blockSize', `a block size of ${blockSize} bytes is not a positive multiple of ${SECTOR_SIZE}`);
  }
}

async function parseCloop(reader: ByteReader, context: ParseContext): Promise<ParsedImage<CloopDetails>> {
  const header = decodeCloopHeader(await reader.read(0, CLOOP_HEADER_SIZE, 'header'));
  const preamble = cutAtNul(latin1Text(header.preamble));
  checkBlockSize(header.blockSize);
  if (header.blockSize > CLOOP_QEMU_MAX_BLOCK_SIZE) {
    context.warn(`blocks of ${header.blockSize} bytes are larger than qemu accepts (64 MiB)`);
  }
  const expectedFirstOffset = BigInt(CLOOP_OFFSETS_START) + (BigInt(header.blockCount) + 1n) * 8n;
  if (header.firstBlockOffset !== expectedFirstOffset) {
    context.warn(`the first block starts at ${header.firstBlockOffset}, not right after the offsets table (${expectedFirstOffset})`);
  }
  const details: CloopDetails = {
    version: /#V([0-9.]+) Format/.exec(preamble)?.[1] ?? '2.0',
    preamble,
    blockSize: header.blockSize,
    blockCount: header.blockCount,
    firstBlockOffset: safeNumber(header.firstBlockOffset, 'header.firstBlockOffset', 'cloop'),
  };
  const virtualSize = safeNumber(BigInt(header.blockCount) * BigInt(header.blockSize), 'header.blockCount', 'cloop');
  return { virtualSize, details };
}

/** The cloop format module (version 2.0). */
export const cloop: FormatModule<'cloop', CloopDetails, never> = {
  name: 'cloop',
  title: 'Compressed loop image (cloop)',
  qemuProbes: true,
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: 0, bytes: CLOOP_V2_SIGNATURE }],
  summarize: (details) => [
    ['version', details.version],
    ['block size', details.blockSize],
    ['blocks', details.blockCount],
  ],
  parse: parseCloop,
};
