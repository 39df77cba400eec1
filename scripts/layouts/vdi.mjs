// Fixed layout of the VirtualBox VDI header. Sources: VirtualBox src/VBox/Storage/VDICore.h
// (VDIPREHEADER, VDIHEADER0, VDIHEADER1, VDIHEADER1PLUS) and qemu 7.2 block/vdi.c (VdiHeader,
// which names the same fields uuid_image, uuid_last_snap, uuid_link, uuid_parent).
//
// The version 0 header (VDIHEADER0) is the version 1 header without the fields marked
// `version1` below: one layout serves both.
const version1 = { majorVersion: 1 };

export default [
  {
    name: 'VdiHeader',
    field: 'header',
    doc: 'VDI pre-header and header: version 1.x (VDIHEADER1PLUS; the LCHS geometry at 456 exists only when headerSize >= 400), or version 0.0 (VDIHEADER0: no header size, offsets, extra block data or parent-modification UUID; the block map follows the header at 420).',
    endianness: 'little',
    fields: [
      { name: 'text', type: 'bytes', length: 64, doc: 'banner for human eyes, e.g. "<<< Oracle VM VirtualBox Disk Image >>>\\n" (qemu: "<<< QEMU VM Virtual Disk Image >>>\\n"); ignored by readers' },
      { name: 'signature', type: 'bytes', length: 4, contents: [0x7f, 0x10, 0xda, 0xbe], doc: 'the little-endian u32 0xBEDA107F' },
      { name: 'minorVersion', type: 'u16', doc: 'header version, minor part (1 for version 1.1)' },
      { name: 'majorVersion', type: 'u16', doc: 'header version, major part (0 or 1)' },
      { name: 'headerSize', type: 'u32', if: version1, doc: 'size of the header after the pre-header: 0x180 (qemu, VDIHEADER1) or 0x190 (VirtualBox, VDIHEADER1PLUS)' },
      { name: 'imageType', type: 'u32', enum: { type: 'VdiImageType', values: { 1: 'dynamic', 2: 'static', 3: 'undo', 4: 'diff' } }, doc: '1 normal (dynamic), 2 fixed (static), 3 undo, 4 diff' },
      { name: 'flags', type: 'u32', doc: 'image flags' },
      { name: 'description', type: 'bytes', length: 256, doc: 'comment, UTF-8, NUL-terminated' },
      { name: 'blocksOffset', type: 'u32', if: version1, doc: 'byte offset of the block map (qemu: must be a multiple of 512)' },
      { name: 'dataOffset', type: 'u32', if: version1, doc: 'byte offset of the first data block (qemu: must be a multiple of 512)' },
      { name: 'legacyCylinders', type: 'u32', doc: 'legacy geometry: cylinders (older VirtualBox stored the physical geometry here)' },
      { name: 'legacyHeads', type: 'u32', doc: 'legacy geometry: heads' },
      { name: 'legacySectors', type: 'u32', doc: 'legacy geometry: sectors per track' },
      { name: 'sectorSize', type: 'u32', doc: 'legacy geometry: bytes per sector (512; qemu refuses others)' },
      { name: 'unused', type: 'u32', if: version1, doc: 'was the BIOS translation mode' },
      { name: 'diskSize', type: 'u64', doc: 'virtual disk size in bytes' },
      { name: 'blockSize', type: 'u32', doc: 'block size in bytes (1 MiB; qemu refuses others)' },
      { name: 'blockExtraSize', type: 'u32', if: version1, doc: 'bytes of extra data before each block' },
      { name: 'blocksInImage', type: 'u32', doc: 'number of blocks (entries in the block map)' },
      { name: 'blocksAllocated', type: 'u32', doc: 'number of allocated blocks' },
      { name: 'uuid', type: 'bytes', length: 16, doc: 'image UUID (uuidCreate), mixed-endian' },
      { name: 'modifyUuid', type: 'bytes', length: 16, doc: 'UUID of the last modification (uuidModify; qemu: uuid_last_snap)' },
      { name: 'parentUuid', type: 'bytes', length: 16, doc: 'differencing images: the parent\'s UUID (uuidLinkage; qemu: uuid_link)' },
      { name: 'parentModifyUuid', type: 'bytes', length: 16, if: version1, doc: 'differencing images: the parent\'s modification UUID (uuidParentModify; qemu: uuid_parent)' },
      { name: 'cylinders', type: 'u32', if: version1, doc: 'LCHS geometry: cylinders (VDIHEADER1PLUS only)' },
      { name: 'heads', type: 'u32', if: version1, doc: 'LCHS geometry: heads' },
      { name: 'sectors', type: 'u32', if: version1, doc: 'LCHS geometry: sectors per track' },
      { name: 'lchsSectorSize', type: 'u32', if: version1, doc: 'LCHS geometry: bytes per sector' },
    ],
    size: 472,
  },
];
