// Fixed layouts of partition-table structures. Sources: the UEFI Specification 2.10,
// chapter 5 "GUID Partition Table (GPT) Disk Layout" (5.2.1 legacy MBR, 5.3.2 GPT header,
// 5.3.3 GPT partition entry); Apple "Inside Macintosh: Devices" (driver descriptor map and
// partition map entry); the Sun, SGI and Atari AHDI disk label layouts as documented by
// their vendors and as util-linux and Linux (block/partitions) read them; the BSD disklabel
// of 4.4BSD sys/disklabel.h.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'MbrChsAddress', field: 'mbr chs address', endianness: 'little', size: 3,
    doc: 'A cylinder-head-sector address as an MBR partition entry packs it (UEFI 2.10 table 5-2).',
    fields: `
      head                  | u8 | head
      sectorAndCylinderHigh | u8 | bits 0-5: sector (1-based); bits 6-7: cylinder bits 8-9
      cylinderLow           | u8 | cylinder bits 0-7
    `,
  }, {
    name: 'MbrPartitionEntry', field: 'mbr partition entry', endianness: 'little', size: 16,
    doc: 'One of the four 16-byte partition entries of a master boot record at byte 446 (UEFI 2.10 table 5-2), or of an extended boot record.',
    fields: `
      status      | u8            | 0x80 bootable (active), 0x00 not; anything else is invalid
      startChs    | MbrChsAddress | CHS address of the first sector
      type        | u8            | partition type (0x00 empty, 0x05/0x0f/0x85 extended, 0xee GPT protective, ...)
      endChs      | MbrChsAddress | CHS address of the last sector
      startLba    | u32           | first sector (logical block address)
      sectorCount | u32           | length in sectors
    `,
  }, {
    name: 'MbrSector', field: 'mbr', endianness: 'little', size: 512,
    doc: 'A master boot record (sector 0) or an extended boot record (UEFI 2.10 section 5.2.1, table 5-1).',
    fields: `
      bootCode      | bytes[440]           | boot code, unused by UEFI
      diskSignature | u32                  | unique MBR disk signature (what \`sfdisk --json\` calls \`id\`)
      unknown       | u16                  | unused (copy-protection flag in some tools)
      partitions    | MbrPartitionEntry[4] | the four partition entries
      signature     | bytes[2] = [55 aa]   | the boot signature
    `,
  }, {
    name: 'GptHeader', field: 'gpt header', endianness: 'little', size: 92,
    doc: 'GPT header, at LBA 1 (primary) or the last LBA (backup) (UEFI 2.10 section 5.3.2, table 5-5).',
    fields: `
      signature                | bytes[8] = "EFI PART" | the GPT header signature
      revision                 | u32                   | 0x00010000 for revision 1.0
      headerSize               | u32                   | bytes covered by headerCrc32: at least 92, at most the logical block size
      headerCrc32              | u32                   | CRC-32 of the first headerSize bytes, computed with this field zero
      reserved                 | u32                   | must be zero
      myLba                    | u64                   | the LBA that holds this header
      alternateLba             | u64                   | the LBA of the other header (the backup, for the primary)
      firstUsableLba           | u64                   | first LBA a partition may use
      lastUsableLba            | u64                   | last LBA a partition may use
      diskGuid                 | bytes[16]             | disk GUID (mixed-endian)
      partitionEntryLba        | u64                   | first LBA of the partition entry array
      numberOfPartitionEntries | u32                   | entries in the array (128 is usual)
      sizeOfPartitionEntry     | u32                   | bytes per entry: 128 x 2^n
      partitionEntryArrayCrc32 | u32                   | CRC-32 of numberOfPartitionEntries x sizeOfPartitionEntry bytes of the array
    `,
  }, {
    name: 'GptPartitionEntry', field: 'gpt partition entry', endianness: 'little', size: 128,
    doc: 'GPT partition entry, the first 128 bytes of each element of the entry array (UEFI 2.10 section 5.3.3, table 5-6).',
    fields: `
      partitionTypeGuid   | bytes[16] | partition type GUID (mixed-endian); all zero: unused entry
      uniquePartitionGuid | bytes[16] | this partition's GUID
      startingLba         | u64       | first LBA
      endingLba           | u64       | last LBA, inclusive
      attributes          | u64       | bit 0 required, 1 no block IO protocol, 2 legacy BIOS bootable, 48-63 defined by the type
      partitionName       | bytes[72] | name, UTF-16LE, NUL-padded
    `,
  }, {
    name: 'ApmDriverDescriptorMap', field: 'apm driver descriptor map', endianness: 'big', size: 18,
    doc: 'Apple driver descriptor map ("ER"), block 0 of a disk with an Apple Partition Map (Inside Macintosh: Devices, "Block0").',
    fields: `
      signature   | bytes[2] = "ER" | the driver descriptor map signature
      blockSize   | u16             | sbBlkSize: the device block size, the unit of every APM address
      blockCount  | u32             | sbBlkCount: blocks on the device
      deviceType  | u16             | sbDevType
      deviceId    | u16             | sbDevId
      data        | u32             | sbData
      driverCount | u16             | sbDrvrCount: driver descriptors that follow
    `,
  }, {
    name: 'ApmPartitionEntry', field: 'apm partition entry', endianness: 'big', size: 136,
    doc: 'Apple Partition Map entry ("PM"), one per block from block 1 (Inside Macintosh: Devices, "Partition")',
    fields: `
      signature        | bytes[2] = "PM" | the partition map entry signature
      signaturePad     | u16             | reserved
      mapBlockCount    | u32             | pmMapBlkCnt: entries in the partition map
      physicalStart    | u32             | pmPyPartStart: first block of the partition
      blockCount       | u32             | pmPartBlkCnt: blocks in the partition
      name             | bytes[32]       | pmPartName, NUL-terminated
      type             | bytes[32]       | pmParType, e.g. "Apple_HFS", NUL-terminated
      logicalDataStart | u32             | pmLgDataStart
      dataCount        | u32             | pmDataCnt
      status           | u32             | pmPartStatus: bit 0 valid, 1 allocated, 2 in use, 3 bootable, 4 readable, 5 writable
      logicalBootStart | u32             | pmLgBootStart
      bootSize         | u32             | pmBootSize
      bootAddress      | u32             | pmBootAddr
      bootAddress2     | u32             | pmBootAddr2
      bootEntry        | u32             | pmBootEntry
      bootEntry2       | u32             | pmBootEntry2
      bootChecksum     | u32             | pmBootCksum
      processor        | bytes[16]       | pmProcessor, e.g. "powerpc"
    `,
  }, {
    name: 'BsdPartitionEntry', field: 'bsd partition', endianness: ['little', 'big'], size: 16,
    doc: 'One partition of a BSD disklabel (4.4BSD sys/disklabel.h, struct partition), in the label\'s byte order.',
    fields: `
      size              | u32 | p_size: sectors in the partition (0: unused)
      offset            | u32 | p_offset: first sector
      fragmentSize      | u32 | p_fsize: file system fragment size
      fileSystemType    | u8  | p_fstype: 7 4.2BSD, 1 swap, 8 MSDOS, ...
      fragmentsPerBlock | u8  | p_frag
      cylindersPerGroup | u16 | p_cpg
    `,
  }, {
    name: 'BsdDisklabel', field: 'bsd disklabel', endianness: ['little', 'big'], size: 148,
    doc: 'A BSD disklabel without its partitions (4.4BSD sys/disklabel.h, struct disklabel), in sector 1 (i386) or at byte 64 (other ports), or in sector 1 of an MBR slice. Its byte order is the one in which both magics read 0x82564557; partitionCount partitions (BsdPartitionEntry) follow. Valid when the XOR of its 16-bit words, partitions included, is zero.',
    fields: `
      magic              | u32 = 0x82564557 | d_magic
      type               | u16              | d_type: drive type
      subtype            | u16              | d_subtype
      typeName           | bytes[16]        | d_typename: the drive type name
      packName           | bytes[16]        | d_packname: the pack identifier
      sectorSize         | u32              | d_secsize: bytes per sector
      sectorsPerTrack    | u32              | d_nsectors
      tracksPerCylinder  | u32              | d_ntracks
      cylinders          | u32              | d_ncylinders
      sectorsPerCylinder | u32              | d_secpercyl
      sectorsPerUnit     | u32              | d_secperunit: sectors on the disk
      sparesPerTrack     | u16              | d_sparespertrack
      sparesPerCylinder  | u16              | d_sparespercyl
      alternateCylinders | u32              | d_acylinders
      rpm                | u16              | d_rpm
      interleave         | u16              | d_interleave
      trackSkew          | u16              | d_trackskew
      cylinderSkew       | u16              | d_cylskew
      headSwitch         | u32              | d_headswitch: head switch time, microseconds
      trackSeek          | u32              | d_trkseek: track-to-track seek, microseconds
      flags              | u32              | d_flags
      driveData          | bytes[20]        | d_drivedata
      spare              | bytes[20]        | d_spare
      magic2             | u32 = 0x82564557 | d_magic2
      checksum           | u16              | d_checksum: makes the XOR of the label's words zero
      partitionCount     | u16              | d_npartitions
      bootAreaSize       | u32              | d_bbsize
      superblockSize     | u32              | d_sbsize
    `,
  }, {
    name: 'SunPartitionInfo', field: 'sun vtoc partition', endianness: 'big', size: 4,
    doc: 'The VTOC tag and flags of one Sun partition.',
    fields: `
      tag   | u16 | partition tag (2 root, 3 swap, 5 whole disk, ...)
      flags | u16 | 0x01 unmountable, 0x10 read-only
    `,
  }, {
    name: 'SunPartitionMap', field: 'sun partition', endianness: 'big', size: 8,
    doc: 'Where one Sun partition is.',
    fields: `
      startCylinder | u32 | first cylinder
      sectorCount   | u32 | length in sectors (0: unused)
    `,
  }, {
    name: 'SunDiskLabel', field: 'sun disk label', endianness: 'big', size: 512,
    doc: 'Sun (SPARC) VTOC disk label, sector 0. Valid when magic is 0xDABE and the 256 big-endian 16-bit words XOR to zero.',
    fields: `
      asciiLabel            | bytes[128]          | informative text, e.g. the disk model and geometry
      vtocVersion           | u32                 | VTOC version (1)
      volumeName            | bytes[8]            | volume name
      partitionCount        | u16                 | partitions in the VTOC (8)
      partitionInfo         | SunPartitionInfo[8] | tags and flags of the eight partitions
      padding               | u16                 | alignment
      bootInfo              | bytes[12]           | boot information
      vtocSanity            | u32                 | 0x600DDEEE when the VTOC part is valid
      vtocReserved          | bytes[40]           | reserved
      timestamps            | bytes[32]           | per-partition timestamps
      writeReinstruct       | u32                 | sectors to skip writing
      readReinstruct        | u32                 | sectors to skip reading
      spare                 | bytes[148]          | padding
      rpm                   | u16                 | rotations per minute
      physicalCylinders     | u16                 | physical cylinders
      alternatesPerCylinder | u16                 | alternate sectors per cylinder
      obsolete1             | u16                 | obsolete
      obsolete2             | u16                 | obsolete
      interleave            | u16                 | interleave factor
      dataCylinders         | u16                 | data cylinders
      alternateCylinders    | u16                 | alternate cylinders
      heads                 | u16                 | tracks per cylinder
      sectorsPerTrack       | u16                 | sectors per track
      obsolete3             | u16                 | obsolete
      obsolete4             | u16                 | obsolete
      partitions            | SunPartitionMap[8]  | the eight partitions
      magic                 | u16 = 0xdabe        | the Sun label magic
      checksum              | u16                 | makes the XOR of all 256 words zero
    `,
  }, {
    name: 'SgiDeviceParameters', field: 'sgi device parameters', endianness: 'big', size: 48,
    doc: 'The device parameters of an SGI volume header (IRIX sys/dvh.h, struct device_parameters).',
    fields: `
      skew                 | u8        | spiral addressing skew
      gap1                 | u8        | words of 0 before the header
      gap2                 | u8        | words of 0 between header and data
      spareCylinders       | u8        | spare cylinders
      cylinders            | u16       | number of usable cylinders
      headVolume0          | u16       | starting head of volume 0
      heads                | u16       | tracks per cylinder
      commandTagQueueDepth | u8        | command tag queue depth
      cylindersHigh        | u8        | high byte of the cylinder count
      sectorsPerTrack      | u16       | sectors per track
      bytesPerSector       | u16       | bytes per sector
      interleave           | u16       | sector interleave
      -                    | skip[2]
      flags                | u32       | controller flags
      dataRate             | u32       | data rate (ESDI)
      retries              | u32       | retries on error
      msPerWord            | u32       | milliseconds per word
      xylogics             | bytes[12] | Xylogics controller parameters
    `,
  }, {
    name: 'SgiVolumeDirectoryEntry', field: 'sgi volume directory entry', endianness: 'big', size: 16,
    doc: 'A file kept in an SGI volume header (e.g. "sgilabel", "sash").',
    fields: `
      name  | bytes[8] | file name, NUL-padded (empty: unused)
      block | u32      | first block
      bytes | u32      | length in bytes
    `,
  }, {
    name: 'SgiPartitionEntry', field: 'sgi partition', endianness: 'big', size: 12,
    doc: 'One of the sixteen partitions of an SGI volume header.',
    fields: `
      blockCount | u32 | blocks in the partition (0: unused)
      firstBlock | u32 | first block
      type       | u32 | 0 volume header, 3 raw, 4 BSD, 5 SysV, 6 volume, 7 EFS, 10 XFS, ...
    `,
  }, {
    name: 'SgiVolumeHeader', field: 'sgi volume header', endianness: 'big', size: 512,
    doc: 'SGI (IRIX) volume header, sector 0. Valid when magic is 0x0BE5A941 and the 128 big-endian 32-bit words sum to zero.',
    fields: `
      magic            | u32 = 0xbe5a941             | the SGI volume header magic
      rootPartition    | u16                         | root partition number
      swapPartition    | u16                         | swap partition number
      bootFile         | bytes[16]                   | name of the file to boot
      deviceParameters | SgiDeviceParameters         | geometry and controller parameters
      volumeDirectory  | SgiVolumeDirectoryEntry[15] | files in the volume header
      partitions       | SgiPartitionEntry[16]       | the sixteen partitions
      checksum         | u32                         | makes the sum of all 128 words zero
      fill             | u32                         | padding
    `,
  }, {
    name: 'AtariPartitionEntry', field: 'atari partition', endianness: 'big', size: 12,
    doc: 'One partition entry of an Atari AHDI root sector.',
    fields: `
      flags | u8       | bit 0 exists, bit 7 bootable
      id    | bytes[3] | "GEM", "BGM", "XGM" (extended), "LNX", "SWP", "RAW", ...
      start | u32      | first sector
      size  | u32      | sectors
    `,
  }, {
    name: 'AtariRootSector', field: 'atari root sector', endianness: 'big', size: 512,
    doc: 'Atari AHDI root sector, sector 0 (Atari "AHDI 3.00 Release Notes", as Linux block/partitions/atari.c reads it).',
    fields: `
      bootCode           | bytes[342]             | boot code
      icdPartitions      | AtariPartitionEntry[8] | 8 more entries in the ICD extension
      unused             | bytes[12]              | unused
      diskSize           | u32                    | hd_siz: disk size in sectors
      partitions         | AtariPartitionEntry[4] | the four primary entries
      badSectorListStart | u32                    | bsl_st
      badSectorListCount | u32                    | bsl_cnt
      checksum           | u16                    | makes the 16-bit word sum 0x1234 on a bootable disk
    `,
  },
];
