// Fixed layouts of the boot sectors the raw module recognises so as not to mistake them
// for a master boot record. Sources: Microsoft "FAT: General Overview of On-Disk Format"
// (BPB, section 3), Microsoft exFAT specification (section 3.1 Main Boot Sector) and the
// NTFS boot sector as documented by Microsoft ("NTFS Technical Reference", BPB and
// extended BPB).
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'FatBiosParameterBlock', field: 'fat boot sector', endianness: 'little', size: 36,
    doc: 'The jump, OEM name and BIOS parameter block shared by FAT12, FAT16 and FAT32 boot sectors (FAT specification section 3.1).',
    fields: `
      jumpInstruction   | u8       | BS_jmpBoot[0]: 0xEB (a short jump, then a NOP) or 0xE9 (a near jump)
      jumpTarget        | u8       | BS_jmpBoot[1]
      jumpNop           | u8       | BS_jmpBoot[2]: 0x90 after 0xEB
      oemName           | bytes[8] | e.g. "MSWIN4.1", "mkfs.fat"
      bytesPerSector    | u16      | 512, 1024, 2048 or 4096
      sectorsPerCluster | u8       | a power of two, 1 to 128
      reservedSectors   | u16      | sectors before the first FAT; not zero
      numberOfFats      | u8       | usually 2
      rootEntries       | u16      | root directory entries (0 on FAT32)
      totalSectors16    | u16      | sector count when below 65536, else 0
      media             | u8       | 0xF0 or 0xF8..0xFF
      sectorsPerFat16   | u16      | FAT size in sectors (0 on FAT32)
      sectorsPerTrack   | u16      | geometry
      heads             | u16      | geometry
      hiddenSectors     | u32      | sectors before this volume
      totalSectors32    | u32      | sector count when totalSectors16 is 0
    `,
  }, {
    name: 'FatExtendedBootSignature', field: 'fat boot sector', endianness: 'little', size: 26,
    doc: 'The extended boot signature fields, after the BPB of a FAT12/16 boot sector (at 36) or after the FAT32 fields (at 64) (FAT specification sections 3.2 and 3.3).',
    fields: `
      driveNumber    | u8        | BIOS drive number (0x80 for a hard disk)
      reserved       | u8        | zero
      bootSignature  | u8        | 0x29 when the volume id, label and type follow
      volumeId       | u32       | volume serial number
      volumeLabel    | bytes[11] | volume label, space-padded
      fileSystemType | bytes[8]  | "FAT12   ", "FAT16   ", "FAT32   " (informative only)
    `,
  }, {
    name: 'Fat16BootSector', field: 'fat boot sector', endianness: 'little', size: 62,
    doc: 'A FAT12 or FAT16 boot sector: the BPB, then the extended boot signature fields (FAT specification section 3.2).',
    fields: `
      bpb      | FatBiosParameterBlock    | the BIOS parameter block
      extended | FatExtendedBootSignature | serial number and label
    `,
  }, {
    name: 'Fat32BootSector', field: 'fat boot sector', endianness: 'little', size: 90,
    doc: 'A FAT32 boot sector: the BPB, the FAT32 fields, then the extended boot signature fields (FAT specification section 3.3).',
    fields: `
      bpb               | FatBiosParameterBlock    | the BIOS parameter block
      sectorsPerFat32   | u32                      | FAT size in sectors
      extendedFlags     | u16                      | FAT mirroring flags
      fileSystemVersion | u16                      | 0
      rootCluster       | u32                      | first cluster of the root directory (usually 2)
      fsInfoSector      | u16                      | sector of the FSInfo structure (usually 1)
      backupBootSector  | u16                      | sector of the boot sector's copy (usually 6)
      reserved          | bytes[12]                | zero
      extended          | FatExtendedBootSignature | serial number and label
    `,
  }, {
    name: 'NtfsBootSector', field: 'ntfs boot sector', endianness: 'little', size: 84,
    doc: 'The NTFS boot sector\'s BPB and extended BPB (NTFS Technical Reference).',
    fields: `
      jump                   | bytes[3]              | EB 52 90
      oemName                | bytes[8] = "NTFS    " | the NTFS OEM id
      bytesPerSector         | u16                   | usually 512
      sectorsPerCluster      | u8                    | a power of two
      reservedSectors        | u16                   | 0
      -                      | skip[5]
      media                  | u8                    | 0xF8 for a hard disk
      -                      | skip[2]
      sectorsPerTrack        | u16                   | geometry
      heads                  | u16                   | geometry
      hiddenSectors          | u32                   | sectors before this volume
      -                      | skip[8]
      totalSectors           | u64                   | sectors in the volume
      mftCluster             | u64                   | first cluster of the MFT
      mftMirrorCluster       | u64                   | first cluster of the MFT mirror
      clustersPerFileRecord  | i8                    | clusters per MFT record; negative n: 2^-n bytes
      -                      | skip[3]
      clustersPerIndexBuffer | i8                    | clusters per index buffer; negative n: 2^-n bytes
      -                      | skip[3]
      volumeSerialNumber     | u64                   | volume serial number
      checksum               | u32                   | unused
    `,
  }, {
    name: 'ExfatBootSector', field: 'exfat boot sector', endianness: 'little', size: 120,
    doc: 'The exFAT main boot sector, up to its boot code (exFAT specification section 3.1).',
    fields: `
      jumpBoot                    | bytes[3]              | EB 76 90
      fileSystemName              | bytes[8] = "EXFAT   " | the exFAT name
      mustBeZero                  | bytes[53]             | zero, where a FAT BPB would be
      partitionOffset             | u64                   | sectors before the volume
      volumeLength                | u64                   | sectors in the volume
      fatOffset                   | u32                   | sector of the first FAT
      fatLength                   | u32                   | sectors per FAT
      clusterHeapOffset           | u32                   | sector of the cluster heap
      clusterCount                | u32                   | clusters in the heap
      firstClusterOfRootDirectory | u32                   | first cluster of the root directory
      volumeSerialNumber          | u32                   | volume serial number
      fileSystemRevision          | u16                   | 0x0100 for 1.00
      volumeFlags                 | u16                   | active FAT, volume dirty, media failure
      bytesPerSectorShift         | u8                    | log2 of the sector size, 9 to 12
      sectorsPerClusterShift      | u8                    | log2 of the sectors per cluster
      numberOfFats                | u8                    | 1 or 2
      driveSelect                 | u8                    | BIOS drive number
      percentInUse                | u8                    | percentage of clusters in use (0xFF: unknown)
      -                           | skip[7]
    `,
  },
];
