/**
 * Apple Partition Maps (Inside Macintosh: Devices, chapter 3): the driver descriptor map
 * ("ER") in block 0 gives the block size; the map's entries ("PM") follow one per block
 * from block 1 (every 512 bytes in some hybrid CD images with 2048-byte blocks).
 *
 * @module
 */
import { fixedText } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { APM_PARTITION_ENTRY_SIZE, matchApmDriverDescriptorMap, matchApmPartitionEntry } from '../generated/partition-table.js';
import { type PartitionDisk, type PartitionScheme, SECTOR, startOf } from './scheme.js';

/** Most Apple Partition Map entries read. */
export const MAX_APM_ENTRIES = 256;

/** One Apple Partition Map entry. */
export interface ApmPartition {
  /** 1-based index in the map (the block it is stored in). */
  number: number;
  name: string;
  /** e.g. `Apple_HFS`, `Apple_partition_map`, `Apple_Free`. */
  type: string;
  /** First block, in `blockSize` units. */
  startBlock: number;
  blockCount: number;
  offset: number;
  size: number;
  /** pmPartStatus. */
  status: number;
}

/** An Apple Partition Map. */
export interface ApmPartitionTable {
  scheme: 'apm';
  /** The driver descriptor map's block size, the unit of every address. */
  blockSize: number;
  /** The device's size in blocks, from the driver descriptor map. */
  blockCount: number;
  /** Bytes between two map entries (usually `blockSize`; 512 in some hybrid CD images). */
  entryStride: number;
  partitions: ApmPartition[];
}

async function readApm(disk: PartitionDisk): Promise<ApmPartitionTable | undefined> {
  const head = disk.head;
  const map = matchApmDriverDescriptorMap(head);
  if (map === undefined) return undefined;
  const blockSize = map.blockSize >= 512 && (map.blockSize & (map.blockSize - 1)) === 0 ? map.blockSize : SECTOR;
  // Entries sit one per block; some hybrid CD images put them every 512 bytes with 2048-byte blocks.
  for (const entryStride of blockSize === SECTOR ? [SECTOR] : [blockSize, SECTOR]) {
    const first = await disk.read(entryStride, APM_PARTITION_ENTRY_SIZE, 'apm partition entry 1');
    const firstEntry = first === undefined ? undefined : matchApmPartitionEntry(first);
    if (firstEntry === undefined) continue;
    const count = firstEntry.mapBlockCount;
    if (count > MAX_APM_ENTRIES) {
      throw fieldError('LIMIT_EXCEEDED', 'apm partition entry 1.mapBlockCount', `${count} partition map entries is above the cap of ${MAX_APM_ENTRIES}`);
    }
    return { scheme: 'apm', blockSize, blockCount: map.blockCount, entryStride, partitions: await readApmEntries(disk, count, entryStride, blockSize) };
  }
  return undefined;
}

async function readApmEntries(disk: PartitionDisk, count: number, entryStride: number, blockSize: number): Promise<ApmPartition[]> {
  const partitions: ApmPartition[] = [];
  for (let number = 1; number <= count; number += 1) {
    const offset = number * entryStride;
    const bytes = await disk.read(offset, APM_PARTITION_ENTRY_SIZE, `apm partition entry ${number}`);
    if (bytes === undefined) {
      disk.unreadable(`Apple partition map entry ${number}`, offset);
      break;
    }
    const entry = matchApmPartitionEntry(bytes);
    if (entry === undefined) {
      disk.warn(`Apple partition map entry ${number} of ${count} is missing`);
      break;
    }
    partitions.push({
      number,
      name: fixedText(entry.name),
      type: fixedText(entry.type),
      startBlock: entry.physicalStart,
      blockCount: entry.blockCount,
      offset: entry.physicalStart * blockSize,
      size: entry.blockCount * blockSize,
      status: entry.status,
    });
  }
  return partitions;
}

/** The Apple Partition Map scheme. */
export const apm: PartitionScheme<ApmPartitionTable> = {
  scheme: 'apm',
  title: 'Apple Partition Map',
  markers: [
    {
      offset: 0,
      length: 2 * SECTOR,
      matches: (bytes) => matchApmDriverDescriptorMap(bytes) !== undefined && matchApmPartitionEntry(bytes.subarray(SECTOR)) !== undefined,
    },
  ],
  read: async (disk) => startOf(await readApm(disk)),
};
