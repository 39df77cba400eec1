// Fixed layouts of ISO 9660 volume descriptors, El Torito boot catalog entries and the UDF
// descriptors the iso module reads. Sources: ECMA-119 4th edition (2019) sections 8 and 9;
// "El Torito" Bootable CD-ROM Format Specification 1.0 (1995) sections 2.0-2.5;
// ECMA-167 3rd edition parts 2 and 3, and OSTA UDF 2.60 section 2.2.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'VolumeDescriptorHeader', field: 'volume descriptor', endianness: 'little', size: 7,
    doc: 'The start of every volume descriptor (ECMA-119 8.1) and volume structure descriptor (ECMA-167 2/9.1).',
    fields: `
      type       | u8       | ISO 9660: 0 boot record, 1 primary, 2 supplementary, 3 partition, 255 terminator; UDF recognition descriptors: 0
      identifier | bytes[5] | "CD001", or a UDF recognition identifier: "BEA01", "NSR02", "NSR03", "TEA01", "BOOT2", "CDW02"
      version    | u8       | 1 (2 for an enhanced volume descriptor)
    `,
  }, {
    name: 'IsoDateTime', field: 'date', endianness: 'little', size: 17,
    doc: 'A volume descriptor date and time (ECMA-119 8.4.26.1): sixteen digits and an offset from GMT.',
    fields: `
      digits    | bytes[16] | "YYYYMMDDHHMMSScc"; all "0" (or NUL, or spaces): not specified
      gmtOffset | i8        | offset from GMT in 15-minute steps, -48 (west) to +52 (east)
    `,
  }, {
    name: 'SuspEntryHeader', field: 'system use entry', endianness: 'little', size: 4,
    doc: 'The start of every System Use Sharing Protocol entry in a directory record\'s system use area (IEEE P1281 SUSP 1.12, section 4).',
    fields: `
      signature | bytes[2] | e.g. "SP", "CE", "ST", and Rock Ridge's "RR", "PX", "NM", "TF"
      length    | u8       | bytes in the entry, these four included
      version   | u8       | entry version (1)
    `,
  }, {
    name: 'SuspSharingProtocolEntry', field: 'system use entry SP', endianness: 'little', size: 7,
    doc: 'The SP entry that starts the system use area of the root\'s "." record when SUSP is in use (IEEE P1281 SUSP 1.12, section 5.3).',
    fields: `
      header       | SuspEntryHeader    | signature "SP", length 7, version 1
      checkBytes   | bytes[2] = [be ef] | identify the entry
      bytesSkipped | u8                 | bytes to skip in every later system use area
    `,
  }, {
    name: 'VolumeDescriptor', field: 'volume descriptor', endianness: 'little', size: 2048,
    doc: 'A primary (type 1) or supplementary (type 2) volume descriptor (ECMA-119 8.4 and 8.5); both share this layout. Both-endian fields are recorded twice, little-endian then big-endian (ECMA-119 7.2.3, 7.3.3).',
    fields: `
      type                        | u8         | 0 boot record, 1 primary, 2 supplementary, 3 partition, 255 terminator
      identifier                  | bytes[5]   | "CD001"
      version                     | u8         | 1 (2 for an enhanced volume descriptor)
      volumeFlags                 | u8         | supplementary only: bit 0 set when the escape sequences are not registered (ISO 2375)
      systemIdentifier            | bytes[32]  | a-characters (Joliet: UCS-2 big-endian)
      volumeIdentifier            | bytes[32]  | d-characters (Joliet: UCS-2 big-endian)
      unused1                     | bytes[8]   | zero
      volumeSpaceSizeLe           | u32le      | volume space size in logical blocks
      volumeSpaceSizeBe           | u32be      | the same, big-endian
      escapeSequences             | bytes[32]  | supplementary only: "%/@", "%/C", "%/E" for Joliet UCS-2 levels 1, 2, 3
      volumeSetSizeLe             | u16le      | volumes in the set
      volumeSetSizeBe             | u16be      | the same, big-endian
      volumeSequenceNumberLe      | u16le      | this volume's number in the set
      volumeSequenceNumberBe      | u16be      | the same, big-endian
      logicalBlockSizeLe          | u16le      | logical block size in bytes (2048)
      logicalBlockSizeBe          | u16be      | the same, big-endian
      pathTableSizeLe             | u32le      | path table size in bytes
      pathTableSizeBe             | u32be      | the same, big-endian
      typeLPathTable              | u32le      | block of the little-endian path table
      optionalTypeLPathTable      | u32le      | block of its optional copy
      typeMPathTable              | u32be      | block of the big-endian path table
      optionalTypeMPathTable      | u32be      | block of its optional copy
      rootDirectoryRecord         | bytes[34]  | directory record of the root directory (ECMA-119 9.1)
      volumeSetIdentifier         | bytes[128] | d-characters
      publisherIdentifier         | bytes[128] | a-characters; a leading 0x5F names a file in the root directory
      dataPreparerIdentifier      | bytes[128] | a-characters; a leading 0x5F names a file
      applicationIdentifier       | bytes[128] | a-characters; a leading 0x5F names a file
      copyrightFileIdentifier     | bytes[37]  | file in the root directory
      abstractFileIdentifier      | bytes[37]  | file in the root directory
      bibliographicFileIdentifier | bytes[37]  | file in the root directory
      creationDate                | bytes[17]  | "YYYYMMDDHHMMSScc" digits and a signed offset from GMT in 15-minute units (ECMA-119 8.4.26.1)
      modificationDate            | bytes[17]  | same format
      expirationDate              | bytes[17]  | same format; all digits zero: not specified
      effectiveDate               | bytes[17]  | same format
      fileStructureVersion        | u8         | 1 (2 for an enhanced volume descriptor)
      -                           | skip[1166]
    `,
  }, {
    name: 'BootRecord', field: 'boot record', endianness: 'little', size: 75,
    doc: 'A boot record volume descriptor (ECMA-119 8.2); El Torito\'s (El Torito 1.0 section 2.0, table 7) names the boot catalog.',
    fields: `
      type                 | u8        | 0
      identifier           | bytes[5]  | "CD001"
      version              | u8        | 1
      bootSystemIdentifier | bytes[32] | "EL TORITO SPECIFICATION", NUL-padded
      bootIdentifier       | bytes[32] | unused by El Torito
      bootCatalogPointer   | u32       | absolute sector of the boot catalog (El Torito only)
    `,
  }, {
    name: 'DirectoryRecord', field: 'directory record', endianness: 'little', size: 33,
    doc: 'The fixed part of a directory record (ECMA-119 9.1); the file identifier and the system use area (where Rock Ridge lives, IEEE P1281 SUSP) follow.',
    fields: `
      length                  | u8       | bytes in this record
      extendedAttributeLength | u8       | extended attribute record length
      extentLe                | u32le    | first logical block of the extent
      extentBe                | u32be    | the same, big-endian
      dataLengthLe            | u32le    | data length in bytes
      dataLengthBe            | u32be    | the same, big-endian
      recordingDate           | bytes[7] | years since 1900, month, day, hour, minute, second, offset
      fileFlags               | u8       | bit 1 directory
      fileUnitSize            | u8       | interleaved files only
      interleaveGapSize       | u8       | interleaved files only
      volumeSequenceNumberLe  | u16le    | volume holding the extent
      volumeSequenceNumberBe  | u16be    | the same, big-endian
      fileIdentifierLength    | u8       | bytes of the file identifier that follows (1 for the "." record)
    `,
  }, {
    name: 'ElToritoValidationEntry', field: 'boot catalog validation entry', endianness: 'little', size: 32,
    doc: 'The validation entry, first of the boot catalog (El Torito 1.0 section 2.1, table 2).',
    fields: `
      headerId   | u8        | 1
      platformId | u8        | 0 x86, 1 PowerPC, 2 Mac, 0xEF EFI
      reserved   | u16       | zero
      idString   | bytes[24] | manufacturer or developer of the CD
      checksum   | u16       | makes the sixteen 16-bit words of the entry sum to zero
      key55      | u8        | 0x55
      keyAA      | u8        | 0xAA
    `,
  }, {
    name: 'ElToritoBootEntry', field: 'boot catalog entry', endianness: 'little', size: 32,
    doc: 'The initial/default entry and every section entry of the boot catalog (El Torito 1.0 sections 2.2 and 2.4, tables 3 and 5).',
    fields: `
      bootIndicator         | u8        | 0x88 bootable, 0x00 not bootable
      mediaType             | u8        | bits 0-3: 0 no emulation, 1 1.2M, 2 1.44M, 3 2.88M diskette, 4 hard disk; section entries: bit 5 an extension follows
      loadSegment           | u16       | real-mode segment to load at; 0 means 0x7C0
      systemType            | u8        | partition type byte of the emulated hard disk
      unused1               | u8        | zero
      sectorCount           | u16       | virtual (512-byte) sectors the BIOS loads
      loadRba               | u32       | first logical block of the boot image
      selectionCriteriaType | u8        | section entries: 0 none, 1 language and version information
      vendorUnique          | bytes[19] | section entries: selection criteria
    `,
  }, {
    name: 'ElToritoExtensionEntry', field: 'boot catalog extension entry', endianness: 'little', size: 32,
    doc: 'A section entry extension of the boot catalog, after an entry whose media type has bit 5 set (El Torito 1.0 section 2.5, table 6).',
    fields: `
      extensionIndicator | u8        | 0x44
      flags              | u8        | bit 5: another extension follows
      vendorUnique       | bytes[30] | selection criteria
    `,
  }, {
    name: 'ElToritoSectionHeader', field: 'boot catalog section header', endianness: 'little', size: 32,
    doc: 'A section header entry of the boot catalog (El Torito 1.0 section 2.3, table 4).',
    fields: `
      headerIndicator   | u8        | 0x90 more headers follow, 0x91 final header
      platformId        | u8        | 0 x86, 1 PowerPC, 2 Mac, 0xEF EFI
      sectionEntryCount | u16       | section entries that follow this header
      idString          | bytes[28] | identifies the section
    `,
  }, {
    name: 'UdfDescriptorTag', field: 'udf descriptor tag', endianness: 'little', size: 16,
    doc: 'The tag that starts every UDF descriptor (ECMA-167 3/7.2). Valid when tagChecksum is the sum modulo 256 of bytes 0-3 and 5-15.',
    fields: `
      tagIdentifier       | u16 | 1 primary volume, 2 anchor, 5 partition, 6 logical volume, 8 terminating descriptor, ...
      descriptorVersion   | u16 | 2 (NSR02) or 3 (NSR03)
      tagChecksum         | u8  | sum of the other 15 tag bytes, modulo 256
      reserved            | u8  | zero
      tagSerialNumber     | u16 | serial number
      descriptorCrc       | u16 | CRC-16/CCITT of the descriptorCrcLength bytes after the tag
      descriptorCrcLength | u16 | bytes the CRC covers
      tagLocation         | u32 | the logical sector that holds this descriptor
    `,
  }, {
    name: 'UdfTimestamp', field: 'udf timestamp', endianness: 'little', size: 12,
    doc: 'A timestamp (ECMA-167 1/7.3).',
    fields: `
      typeAndTimezone        | u16 | bits 12-15: 1 local time; bits 0-11: offset from UTC in minutes, signed, -2047 when not specified
      year                   | u16 | 1 to 9999
      month                  | u8  | 1 to 12
      day                    | u8  | 1 to 31
      hour                   | u8  | 0 to 23
      minute                 | u8  | 0 to 59
      second                 | u8  | 0 to 59 (60 for a leap second)
      centiseconds           | u8  | 0 to 99
      hundredsOfMicroseconds | u8  | 0 to 99
      microseconds           | u8  | 0 to 99
    `,
  }, {
    name: 'UdfEntityIdentifier', field: 'udf entity identifier', endianness: 'little', size: 32,
    doc: 'An entity identifier, "regid" (ECMA-167 1/7.4).',
    fields: `
      flags            | u8        | bit 0 dirty, bit 1 protected
      identifier       | bytes[23] | e.g. "*OSTA UDF Compliant", "*mkisofs", NUL-padded
      identifierSuffix | bytes[8]  | depends on the identifier (a domain identifier's is UdfDomainIdentifierSuffix)
    `,
  }, {
    name: 'UdfDomainIdentifierSuffix', field: 'udf domain identifier suffix', endianness: 'little', size: 8,
    doc: 'The suffix of a domain entity identifier such as "*OSTA UDF Compliant" (OSTA UDF 2.60 section 2.1.5.3).',
    fields: `
      udfRevision | u16     | the UDF revision in binary-coded decimal: 0x0201 is 2.01
      domainFlags | u8      | bit 0 hard write-protect, bit 1 soft write-protect
      -           | skip[5]
    `,
  }, {
    name: 'UdfAnchorVolumeDescriptorPointer', field: 'udf anchor', endianness: 'little', size: 32,
    doc: 'Anchor volume descriptor pointer, at sector 256 (ECMA-167 3/10.2).',
    fields: `
      tag                     | bytes[16] | descriptor tag, identifier 2
      mainSequenceLength      | u32       | main volume descriptor sequence extent: bytes
      mainSequenceLocation    | u32       | main volume descriptor sequence extent: first sector
      reserveSequenceLength   | u32       | reserve volume descriptor sequence extent: bytes
      reserveSequenceLocation | u32       | reserve volume descriptor sequence extent: first sector
    `,
  }, {
    name: 'UdfPrimaryVolumeDescriptor', field: 'udf primary volume descriptor', endianness: 'little', size: 420,
    doc: 'UDF primary volume descriptor, the fields before the implementation use area (ECMA-167 3/10.1).',
    fields: `
      tag                            | bytes[16]  | descriptor tag, identifier 1
      volumeDescriptorSequenceNumber | u32        | the highest number prevails
      primaryVolumeDescriptorNumber  | u32        | number of this descriptor
      volumeIdentifier               | bytes[32]  | dstring (OSTA CS0)
      volumeSequenceNumber           | u16        | this volume's number in the set
      maximumVolumeSequenceNumber    | u16        | volumes in the set
      interchangeLevel               | u16        | interchange level
      maximumInterchangeLevel        | u16        | maximum interchange level
      characterSetList               | u32        | character sets used
      maximumCharacterSetList        | u32        | character sets allowed
      volumeSetIdentifier            | bytes[128] | dstring (OSTA CS0)
      descriptorCharacterSet         | bytes[64]  | charspec
      explanatoryCharacterSet        | bytes[64]  | charspec
      volumeAbstract                 | bytes[8]   | extent
      volumeCopyrightNotice          | bytes[8]   | extent
      applicationIdentifier          | bytes[32]  | regid
      recordingDateAndTime           | bytes[12]  | timestamp (ECMA-167 1/7.3)
      implementationIdentifier       | bytes[32]  | regid of the writing software
    `,
  }, {
    name: 'UdfLogicalVolumeDescriptor', field: 'udf logical volume descriptor', endianness: 'little', size: 248,
    doc: 'UDF logical volume descriptor, the fields before the logical volume contents use (ECMA-167 3/10.6).',
    fields: `
      tag                            | bytes[16]  | descriptor tag, identifier 6
      volumeDescriptorSequenceNumber | u32        | the highest number prevails
      descriptorCharacterSet         | bytes[64]  | charspec
      logicalVolumeIdentifier        | bytes[128] | dstring (OSTA CS0): the label operating systems show
      logicalBlockSize               | u32        | bytes per logical block
      domainIdentifier               | bytes[32]  | regid "*OSTA UDF Compliant", the UDF revision in its suffix
    `,
  },
];
