/**
 * Summary rows for a partition table (the CLI's text output), shared by the raw module
 * (a whole disk) and the iso module (the system area of a hybrid ISO).
 *
 * One row per partition, numbered as Linux numbers them (`sda5` is `partition 5`): an
 * MBR's primary entries 1-4 by slot, then each extended partition's logical partitions
 * from 5 on, right after it. A count would hide that numbering (an MBR with 1, 2, an
 * extended 3 and a logical 5 has four partitions, not three), so none is printed.
 *
 * @module
 */
import { humanSize, type SummaryRow } from '../../src/summary.js';
import type { MbrPartition, PartitionTable } from './index.js';

/** `Linux (0x83), bootable`: what an MBR entry is. */
function mbrKind(partition: MbrPartition, logical: boolean): string {
  const parts = [`${partition.typeName ?? 'unknown type'} (0x${partition.type.toString(16).padStart(2, '0')})`];
  if (partition.bootable) parts.push('bootable');
  if (partition.extended) parts.push(partition.chainComplete === false ? 'extended, chain incomplete' : 'extended');
  if (logical) parts.push('logical');
  return parts.join(', ');
}

/** `…, 1 MiB at byte 1048576`: where a partition is. */
function placed(kind: string, offset: number, size: number): string {
  return `${kind}, ${humanSize(size)} at byte ${offset}`;
}

/** The label of a named partition: its name in quotes, when it has one. */
function named(kind: string, name: string): string {
  return name === '' ? kind : `${kind} "${name}"`;
}

/** One row per partition of `table`, labelled `partition N` (BSD: `partition a`). */
export function partitionRows(table: PartitionTable): SummaryRow[] {
  switch (table.scheme) {
    case 'mbr':
      return table.partitions.flatMap((partition): SummaryRow[] => [
        [`partition ${partition.number}`, placed(mbrKind(partition, false), partition.offset, partition.size)],
        ...(partition.logicalPartitions ?? []).map((logical): SummaryRow => [
          `partition ${logical.number}`,
          placed(mbrKind(logical, true), logical.offset, logical.size),
        ]),
      ]);
    case 'gpt':
      return table.partitions.map((partition): SummaryRow => [
        `partition ${partition.number}`,
        placed(named(partition.typeName ?? partition.typeGuid, partition.name), partition.offset, partition.size),
      ]);
    case 'apm':
      return table.partitions.map((partition): SummaryRow => [`partition ${partition.number}`, placed(named(partition.type, partition.name), partition.offset, partition.size)]);
    case 'bsd':
      return table.partitions.map((partition): SummaryRow => [
        `partition ${partition.letter}`,
        placed(partition.typeName ?? `type ${partition.type}`, partition.offset, partition.size),
      ]);
    case 'sun':
    case 'sgi':
      return table.partitions.map((partition): SummaryRow => [
        `partition ${partition.number}`,
        placed(partition.typeName ?? (partition.type === undefined ? 'no type' : `type ${partition.type}`), partition.offset, partition.size),
      ]);
    case 'atari':
      return table.partitions.map((partition): SummaryRow => [
        `partition ${partition.number}`,
        placed([partition.id, ...(partition.bootable ? ['bootable'] : []), ...(partition.extended ? ['extended'] : [])].join(', '), partition.offset, partition.size),
      ]);
  }
}

/** The partition table's scheme, then its partitions; nothing without a table. */
export function partitionTableRows(table: PartitionTable | undefined, others: readonly PartitionTable[] = []): SummaryRow[] {
  if (table === undefined) return [];
  const scheme = table.scheme === 'gpt' && table.mbr?.gptProtection === 'hybrid' ? 'gpt (hybrid MBR)' : table.scheme;
  return [
    ['partition table', scheme],
    ...partitionRows(table),
    ['other partition tables', others.length === 0 ? undefined : others.map((other) => other.scheme).join(', ')],
  ];
}
