// Fixed layouts of VHDX structures. Sources: Microsoft [MS-VHDX] "Virtual Hard Disk v2
// (VHDX) File Format" (sections 2.2 Header Section, 2.3 Log, 2.6 Metadata Region); qemu 7.2
// block/vhdx.h. Every integer is little-endian; GUIDs are kept as their 16 stored bytes
// (Microsoft mixed-endian layout) and formatted by the module.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'VhdxFileIdentifier', field: 'file identifier', endianness: 'little', size: 520,
    doc: 'VHDX file type identifier, at offset 0 ([MS-VHDX] 2.2.1).',
    fields: `
      signature | bytes[8] = "vhdxfile" else 'the file does not start with "vhdxfile"' | the file type signature
      creator   | bytes[512]                                                           | the creating application, UTF-16LE, NUL padded (qemu: "QEMU v7.2.22")
    `,
  }, {
    name: 'VhdxHeader', field: 'header', endianness: 'little', size: 4096,
    doc: 'VHDX header, 4 KiB, at 64 KiB (header 1) and 128 KiB (header 2) ([MS-VHDX] 2.2.2). The current header is the valid one with the higher sequence number.',
    fields: `
      signature      | bytes[4]   | "head"
      checksum       | u32        | CRC-32C over the 4 KiB header with this field zeroed
      sequenceNumber | u64        | the header with the higher number is current
      fileWriteGuid  | bytes[16]  | changes on the first write to the file after an open
      dataWriteGuid  | bytes[16]  | changes on the first write to the virtual disk's data after an open
      logGuid        | bytes[16]  | zero when the log is empty; else only log entries with this GUID are valid
      logVersion     | u16        | 0
      version        | u16        | 1
      logLength      | u32        | bytes in the log, a multiple of 1 MiB
      logOffset      | u64        | byte offset of the log, a multiple of 1 MiB
      -              | skip[4016]
    `,
  }, {
    name: 'VhdxRegionTableHeader', field: 'region table', endianness: 'little', size: 16,
    doc: 'VHDX region table header, at 192 KiB (table 1) and 256 KiB (table 2); the table is 64 KiB ([MS-VHDX] 2.2.3.1).',
    fields: `
      signature  | bytes[4] = "regi" | the region table signature
      checksum   | u32               | CRC-32C over the 64 KiB table with this field zeroed
      entryCount | u32               | region table entries that follow (at most 2047)
      -          | skip[4]
    `,
  }, {
    name: 'VhdxRegionTableEntry', field: 'region table entry', endianness: 'little', size: 32,
    doc: 'One VHDX region table entry ([MS-VHDX] 2.2.3.2).',
    fields: `
      guid       | bytes[16] | the region: BAT 2DC27766-F623-4200-9D64-115E9BFD4A08, metadata 8B7CA206-4790-4B9A-B8FE-575F050F886E
      fileOffset | u64       | byte offset of the region, a multiple of 1 MiB
      length     | u32       | bytes in the region, a multiple of 1 MiB
      flags      | u32       | bit 0 Required: a reader that does not know the region must not open the file
    `,
  }, {
    name: 'VhdxMetadataTableHeader', field: 'metadata table', endianness: 'little', size: 32,
    doc: 'VHDX metadata table header, at the start of the metadata region; the table is 64 KiB ([MS-VHDX] 2.6.1.1).',
    fields: `
      signature  | bytes[8] = "metadata" else 'the metadata region does not start with "metadata"' | the metadata table signature
      -          | skip[2]
      entryCount | u16                                                                             | metadata table entries that follow (at most 2047)
      -          | skip[20]
    `,
  }, {
    name: 'VhdxMetadataTableEntry', field: 'metadata table entry', endianness: 'little', size: 32,
    doc: 'One VHDX metadata table entry ([MS-VHDX] 2.6.1.2).',
    fields: `
      itemId | bytes[16] | the item's GUID
      offset | u32       | byte offset of the item from the start of the metadata region (at least 64 KiB; 0 when length is 0)
      length | u32       | bytes in the item (at most 1 MiB)
      flags  | u32       | bit 0 IsUser, bit 1 IsVirtualDisk, bit 2 IsRequired
      -      | skip[4]
    `,
  }, {
    name: 'VhdxFileParameters', field: 'file parameters', endianness: 'little', size: 8,
    doc: 'VHDX File Parameters metadata item, CAA16737-FA36-4D43-B3B6-33F0AA44E76B ([MS-VHDX] 2.6.2.1).',
    fields: `
      blockSize | u32 | bytes per payload block, a power of two from 1 MiB to 256 MiB
      flags     | u32 | bit 0 LeaveBlocksAllocated (a fixed disk), bit 1 HasParent (a differencing disk)
    `,
  }, {
    name: 'VhdxVirtualDiskSize', field: 'metadata item virtualDiskSize', endianness: 'little', size: 8,
    doc: 'VHDX Virtual Disk Size metadata item, 2FA54224-CD1B-4876-B211-5DBED83BF4B8 ([MS-VHDX] 2.6.2.2).',
    fields: `
      virtualDiskSize | u64 | the virtual disk's size in bytes, a multiple of the logical sector size, at most 64 TiB
    `,
  }, {
    name: 'VhdxPage83Data', field: 'metadata item page83Data', endianness: 'little', size: 16,
    doc: 'VHDX Page 83 Data metadata item, BECA12AB-B2E6-4523-93EF-C309E000C746 ([MS-VHDX] 2.6.2.3).',
    fields: `
      pageData | bytes[16] | the virtual disk id (a GUID), as SCSI page 83 reports it
    `,
  }, {
    name: 'VhdxSectorSize', field: 'metadata item', endianness: 'little', size: 4,
    doc: 'VHDX Logical Sector Size (8141BF1D-A96F-4709-BA47-F233A8FAAB5F) or Physical Sector Size (CDA348C7-445D-4471-9CC9-E9885251C556) metadata item ([MS-VHDX] 2.6.2.4, 2.6.2.5).',
    fields: `
      sectorSize | u32 | 512 or 4096
    `,
  }, {
    name: 'VhdxParentLocatorHeader', field: 'parent locator', endianness: 'little', size: 20,
    doc: 'VHDX Parent Locator metadata item header, A8D35F2D-B30B-454D-ABF7-D3D84834AB0C; key/value entries follow ([MS-VHDX] 2.6.2.6).',
    fields: `
      locatorType   | bytes[16] | the locator's type; B04AEFB7-D19E-4A81-B789-25B8E9445913 for VHDX parents
      -             | skip[2]
      keyValueCount | u16       | key/value entries that follow
    `,
  }, {
    name: 'VhdxParentLocatorEntry', field: 'parent locator entry', endianness: 'little', size: 12,
    doc: 'One VHDX parent locator key/value entry; offsets are from the start of the Parent Locator item, text is UTF-16LE ([MS-VHDX] 2.6.2.6.2).',
    fields: `
      keyOffset   | u32 | byte offset of the key
      valueOffset | u32 | byte offset of the value
      keyLength   | u16 | bytes in the key
      valueLength | u16 | bytes in the value
    `,
  }, {
    name: 'VhdxLogEntryHeader', field: 'log entry', endianness: 'little', size: 64,
    doc: 'VHDX log entry header, at a 4 KiB boundary of the log ([MS-VHDX] 2.3.1.1).',
    fields: `
      signature         | bytes[4] = "loge" | the log entry signature
      checksum          | u32               | CRC-32C over the whole entry (entryLength bytes) with this field zeroed
      entryLength       | u32               | bytes in the entry, a multiple of 4 KiB
      tail              | u32               | offset in the log of the first entry of the sequence
      sequenceNumber    | u64               | non-zero; consecutive entries of a sequence count up by one
      descriptorCount   | u32               | descriptors that follow this header
      -                 | skip[4]
      logGuid           | bytes[16]         | must equal the current header's LogGuid
      flushedFileOffset | u64               | the file size when the entry was written
      lastFileOffset    | u64               | the file size the entry needs
    `,
  }, {
    name: 'VhdxLogDescriptor', field: 'log descriptor', endianness: 'little', size: 32,
    doc: 'VHDX log zero descriptor ("zero") or data descriptor ("desc"), 32 bytes ([MS-VHDX] 2.3.1.2, 2.3.1.3).',
    fields: `
      signature                | bytes[4] | "zero" or "desc"
      trailingBytes            | u32      | data descriptors: the last 4 bytes of the sector (reserved in zero descriptors)
      leadingBytesOrZeroLength | u64      | data descriptors: the first 8 bytes of the sector; zero descriptors: bytes to zero
      fileOffset               | u64      | where in the file the descriptor applies
      sequenceNumber           | u64      | must equal the entry's sequence number
    `,
  },
];
