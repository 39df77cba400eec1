// Fixed layout of the VirtualBox VDI header. Sources: VirtualBox src/VBox/Storage/VDICore.h
// (VDIPREHEADER, VDIHEADER0, VDIHEADER1, VDIHEADER1PLUS) and qemu 7.2 block/vdi.c (VdiHeader,
// which names the same fields uuid_image, uuid_last_snap, uuid_link, uuid_parent).
//
// The version 0 header (VDIHEADER0) is the version 1 header without the fields marked
// `if majorVersion = 1` below: one layout serves both.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'VdiHeader', field: 'header', endianness: 'little', size: 472,
    doc: 'VDI pre-header and header: version 1.x (VDIHEADER1PLUS; the LCHS geometry at 456 exists only when headerSize >= 400), or version 0.0 (VDIHEADER0: no header size, offsets, extra block data or parent-modification UUID; the block map follows the header at 420).',
    fields: `
      text             | bytes[64]                                                   | banner for human eyes, e.g. "<<< Oracle VM VirtualBox Disk Image >>>\\n" (qemu: "<<< QEMU VM Virtual Disk Image >>>\\n"); ignored by readers
      signature        | bytes[4] = [7f 10 da be]                                    | the little-endian u32 0xBEDA107F
      minorVersion     | u16                                                         | header version, minor part (1 for version 1.1)
      majorVersion     | u16                                                         | header version, major part (0 or 1)
      headerSize       | u32 if majorVersion = 1                                     | size of the header after the pre-header: 0x180 (qemu, VDIHEADER1) or 0x190 (VirtualBox, VDIHEADER1PLUS)
      imageType        | u32 enum VdiImageType (1 dynamic, 2 static, 3 undo, 4 diff) | 1 normal (dynamic), 2 fixed (static), 3 undo, 4 diff
      flags            | u32                                                         | image flags
      description      | bytes[256]                                                  | comment, UTF-8, NUL-terminated
      blocksOffset     | u32 if majorVersion = 1                                     | byte offset of the block map (qemu: must be a multiple of 512)
      dataOffset       | u32 if majorVersion = 1                                     | byte offset of the first data block (qemu: must be a multiple of 512)
      legacyCylinders  | u32                                                         | legacy geometry: cylinders (older VirtualBox stored the physical geometry here)
      legacyHeads      | u32                                                         | legacy geometry: heads
      legacySectors    | u32                                                         | legacy geometry: sectors per track
      sectorSize       | u32                                                         | legacy geometry: bytes per sector (512; qemu refuses others)
      unused           | u32 if majorVersion = 1                                     | was the BIOS translation mode
      diskSize         | u64                                                         | virtual disk size in bytes
      blockSize        | u32                                                         | block size in bytes (1 MiB; qemu refuses others)
      blockExtraSize   | u32 if majorVersion = 1                                     | bytes of extra data before each block
      blocksInImage    | u32                                                         | number of blocks (entries in the block map)
      blocksAllocated  | u32                                                         | number of allocated blocks
      uuid             | bytes[16]                                                   | image UUID (uuidCreate), mixed-endian
      modifyUuid       | bytes[16]                                                   | UUID of the last modification (uuidModify; qemu: uuid_last_snap)
      parentUuid       | bytes[16]                                                   | differencing images: the parent's UUID (uuidLinkage; qemu: uuid_link)
      parentModifyUuid | bytes[16] if majorVersion = 1                               | differencing images: the parent's modification UUID (uuidParentModify; qemu: uuid_parent)
      cylinders        | u32 if majorVersion = 1                                     | LCHS geometry: cylinders (VDIHEADER1PLUS only)
      heads            | u32 if majorVersion = 1                                     | LCHS geometry: heads
      sectors          | u32 if majorVersion = 1                                     | LCHS geometry: sectors per track
      lchsSectorSize   | u32 if majorVersion = 1                                     | LCHS geometry: bytes per sector
    `,
  },
];
