// Fixed layouts of VMDK sparse extent headers and stream markers. Sources: VMware "Virtual
// Disk Format 1.1" (sections "Sparse Extent Header" and "Stream-Optimized Compressed Sparse
// Extents"), qemu 7.2 block/vmdk.c (VMDK4Header, VMDK3Header, VMDKSESparseConstHeader).
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'Vmdk4SparseHeader', field: 'sparse header', endianness: 'little', size: 512,
    doc: 'VMDK4 sparse extent header ("KDMV"), the first sector of a hosted sparse or streamOptimized extent (Virtual Disk Format 1.1, "Hosted Sparse Extent Header").',
    fields: `
      magic              | bytes[4] = "KDMV" | the hosted sparse extent magic
      version            | u32               | 1; 2 with zeroed-grain GTEs; 3 for streamOptimized
      flags              | u32               | bit 0 valid newline test, bit 1 redundant grain directory, bit 2 zeroed-grain GTEs, bit 16 compressed grains, bit 17 markers
      capacity           | u64               | disk size in sectors; qemu's virtual size for a sparse file
      grainSize          | u64               | grain size in sectors
      descriptorOffset   | u64               | embedded descriptor, in sectors (0: none)
      descriptorSize     | u64               | embedded descriptor length, in sectors
      numGTEsPerGT       | u32               | grain table entries per grain table (512)
      rgdOffset          | u64               | redundant grain directory, in sectors
      gdOffset           | u64               | grain directory, in sectors; 0xFFFFFFFFFFFFFFFF (GD_AT_END) means "see the footer"
      overHead           | u64               | sectors of metadata before the first grain
      uncleanShutdown    | u8                | non-zero if the disk was not closed cleanly
      singleEndLineChar  | u8                | '\\n', to detect text-mode transfer damage
      nonEndLineChar     | u8                | ' '
      doubleEndLineChar1 | u8                | '\\r'
      doubleEndLineChar2 | u8                | '\\n'
      compressAlgorithm  | u16               | 0 none, 1 deflate (qemu: 1 means streamOptimized)
      -                  | skip[433]
    `,
  }, {
    name: 'Vmdk3CowdHeader', field: 'COWD header', endianness: 'little', size: 44,
    doc: 'VMDK3 / ESX "COWD" sparse extent header (vmfsSparse), as qemu 7.2 reads it (block/vmdk.c VMDK3Header after the magic).',
    fields: `
      magic           | bytes[4] = "COWD" | the ESX sparse extent magic
      version         | u32               | format version
      flags           | u32               | flags
      diskSectors     | u32               | disk size in sectors; qemu's virtual size
      granularity     | u32               | grain size in sectors
      l1dirOffset     | u32               | grain directory, in sectors
      l1dirSize       | u32               | grain directory entries
      fileSectors     | u32               | next free sector
      cylinders       | u32               | geometry (root disks)
      heads           | u32               | geometry (root disks)
      sectorsPerTrack | u32               | geometry (root disks)
    `,
  }, {
    name: 'VmdkSeSparseHeader', field: 'SESparse header', endianness: 'little', size: 48,
    doc: 'The start of an ESXi SESparse extent\'s constant header (qemu 7.2 block/vmdk.c VMDKSESparseConstHeader); qemu opens these only through a descriptor.',
    fields: `
      signature      | bytes[16] = [be ba fe ca 00 00 00 00 01 00 00 00 02 00 00 00] | magic 0x00000000CAFEBABE and version 0x0000000200000001, both u64
      capacity       | u64                                                           | disk size in sectors
      grainSize      | u64                                                           | grain size in sectors (qemu requires 8)
      grainTableSize | u64                                                           | grain table size in sectors
      flags          | u64                                                           | flags
    `,
  }, {
    name: 'VmdkMarker', field: 'marker', endianness: 'little', size: 512,
    doc: 'A stream-optimized extent\'s metadata marker: one sector (Virtual Disk Format 1.1, "Stream-Optimized Compressed Sparse Extents").',
    fields: `
      value   | u64        | sectors of metadata that follow (0 for the end-of-stream marker)
      size    | u32        | 0: a metadata marker (a grain marker holds its compressed size here)
      type    | u32        | 0 end of stream, 1 grain table, 2 grain directory, 3 footer
      padding | bytes[496] | zero
    `,
  },
];
