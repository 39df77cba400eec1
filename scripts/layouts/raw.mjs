// Fixed layouts of the boot sectors the raw module recognises so as not to mistake them
// for a master boot record. Sources: Microsoft "FAT: General Overview of On-Disk Format"
// (BPB, section 3), Microsoft exFAT specification (section 3.1 Main Boot Sector) and the
// NTFS boot sector as documented by Microsoft ("NTFS Technical Reference", BPB and
// extended BPB).
export default [
  {
    name: 'FatBiosParameterBlock',
    field: 'fat boot sector',
    doc: 'The jump, OEM name and BIOS parameter block shared by FAT12, FAT16 and FAT32 boot sectors (FAT specification section 3.1).',
    endianness: 'little',
    fields: [
      { name: 'jump', type: 'bytes', length: 3, doc: 'EB xx 90 or E9 xx xx' },
      { name: 'oemName', type: 'bytes', length: 8, doc: 'e.g. "MSWIN4.1", "mkfs.fat"' },
      { name: 'bytesPerSector', type: 'u16', doc: '512, 1024, 2048 or 4096' },
      { name: 'sectorsPerCluster', type: 'u8', doc: 'a power of two, 1 to 128' },
      { name: 'reservedSectors', type: 'u16', doc: 'sectors before the first FAT; not zero' },
      { name: 'numberOfFats', type: 'u8', doc: 'usually 2' },
      { name: 'rootEntries', type: 'u16', doc: 'root directory entries (0 on FAT32)' },
      { name: 'totalSectors16', type: 'u16', doc: 'sector count when below 65536, else 0' },
      { name: 'media', type: 'u8', doc: '0xF0 or 0xF8..0xFF' },
      { name: 'sectorsPerFat16', type: 'u16', doc: 'FAT size in sectors (0 on FAT32)' },
      { name: 'sectorsPerTrack', type: 'u16', doc: 'geometry' },
      { name: 'heads', type: 'u16', doc: 'geometry' },
      { name: 'hiddenSectors', type: 'u32', doc: 'sectors before this volume' },
      { name: 'totalSectors32', type: 'u32', doc: 'sector count when totalSectors16 is 0' },
    ],
    size: 36,
  },
];
