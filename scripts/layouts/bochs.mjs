// Fixed layout of the Bochs "redolog" header. Sources: Bochs iodev/hdimage/hdimage.h
// (standard_header_t, redolog_specific_header_t, and the v1 variant) and qemu 7.2
// block/bochs.c (struct bochs_header).
export default [
  {
    name: 'BochsHeader',
    field: 'header',
    doc: 'Bochs redolog header, versions 1.0 and 2.0: version 2.0 has a timestamp (qemu: "reserved") before the disk size.',
    endianness: 'little',
    fields: [
      { name: 'magic', type: 'bytes', length: 32, doc: '"Bochs Virtual HD Image", NUL-terminated' },
      { name: 'type', type: 'bytes', length: 16, doc: '"Redolog"' },
      { name: 'subtype', type: 'bytes', length: 16, doc: '"Growing", "Undoable" or "Volatile"' },
      { name: 'version', type: 'u32', doc: '0x00010000 (1.0) or 0x00020000 (2.0)' },
      { name: 'headerSize', type: 'u32', doc: 'header size in bytes; the catalog starts here (512)' },
      { name: 'catalogEntries', type: 'u32', doc: 'entries in the catalog (one u32 per extent)' },
      { name: 'bitmapSize', type: 'u32', doc: 'bytes of the allocation bitmap before each extent' },
      { name: 'extentSize', type: 'u32', doc: 'bytes of data per extent' },
      { name: 'timestamp', type: 'u32', if: { version: 0x00020000 }, doc: 'modification time of the base image (undoable redologs), FAT date and time' },
      { name: 'diskSize', type: 'u64', doc: 'virtual disk size in bytes' },
    ],
    size: 96,
  },
];
