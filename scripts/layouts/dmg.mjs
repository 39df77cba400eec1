// Fixed layouts of Apple's UDIF disk images (.dmg). Sources: the published descriptions of
// UDIF (Jonathan Levin, "Demystifying the DMG File Format"; the newosxbook.com UDIFResourceFile
// and BLKXTable layouts) and qemu 7.2 block/dmg.c, which reads the same offsets.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'DmgKolyTrailer', field: 'koly trailer', endianness: 'big', size: 512,
    doc: 'UDIF resource file trailer ("koly"), the last 512 bytes of the image.',
    fields: `
      signature             | bytes[4] = "koly" else 'the last 512 bytes do not start with "koly"' | the trailer's signature
      version               | u32                                                                  | 4
      headerSize            | u32                                                                  | 512
      flags                 | u32                                                                  | bit 0 flattened, bit 2 internet-enabled
      runningDataForkOffset | u64                                                                  | segmented images: where this segment's data starts in the whole
      dataForkOffset        | u64                                                                  | start of the data fork (usually 0)
      dataForkLength        | u64                                                                  | length of the data fork in bytes
      resourceForkOffset    | u64                                                                  | start of a classic resource fork (old images)
      resourceForkLength    | u64                                                                  | length of that resource fork (0: none)
      segmentNumber         | u32                                                                  | this segment's number (1 for a single-file image; 0 in some)
      segmentCount          | u32                                                                  | number of segments
      segmentId             | bytes[16]                                                            | segment UUID
      dataChecksumType      | u32                                                                  | checksum of the data fork: 0 none, 2 CRC-32
      dataChecksumBits      | u32                                                                  | bits of that checksum
      dataChecksum          | bytes[128]                                                           | the checksum, left-aligned
      plistOffset           | u64                                                                  | start of the XML property list
      plistLength           | u64                                                                  | length of the XML property list
      -                     | skip[120]
      masterChecksumType    | u32                                                                  | checksum of the block tables' checksums
      masterChecksumBits    | u32                                                                  | bits of that checksum
      masterChecksum        | bytes[128]                                                           | the checksum, left-aligned
      imageVariant          | u32                                                                  | 1 device image, 2 partition image
      sectorCount           | u64                                                                  | size of the expanded image in 512-byte sectors (qemu's virtual size)
      -                     | skip[12]
    `,
  }, {
    name: 'DmgBlockTable', field: 'blkx table', endianness: 'big', size: 204,
    doc: 'A "mish" block table (BLKXTable), base64 in a blkx entry of the property list; 40-byte chunk entries follow.',
    fields: `
      signature        | bytes[4] = "mish" | the block table's signature
      version          | u32               | 1
      firstSector      | u64               | first sector of the disk this table covers
      sectorCount      | u64               | sectors covered
      dataOffset       | u64               | base of the chunks' compressed offsets in the data fork
      buffersNeeded    | u32               | buffer size hint, in sectors
      blockDescriptors | u32               | partition number
      -                | skip[24]
      checksumType     | u32               | checksum of the uncompressed data: 0 none, 2 CRC-32
      checksumBits     | u32               | bits of that checksum
      checksum         | bytes[128]        | the checksum, left-aligned
      chunkCount       | u32               | number of 40-byte chunk entries that follow
    `,
  }, {
    name: 'DmgChunk', field: 'blkx chunk', endianness: 'big', size: 40,
    doc: 'One chunk entry (BLKXChunkEntry) of a block table.',
    fields: `
      type             | u32 | 0 zero-fill, 1 raw, 2 ignore, 0x80000004 ADC, 0x80000005 zlib, 0x80000006 bzip2, 0x80000007 LZFSE, 0x80000008 LZMA, 0x7FFFFFFE comment, 0xFFFFFFFF end
      comment          | u32 | comment
      sector           | u64 | first sector, relative to the table's firstSector
      sectorCount      | u64 | sectors of this chunk
      compressedOffset | u64 | offset of its data, relative to the table's dataOffset
      compressedLength | u64 | length of its data
    `,
  },
];
