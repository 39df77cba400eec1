// Fixed layouts of the Bochs "redolog" header. Sources: Bochs iodev/hdimage/hdimage.h
// (standard_header_t, redolog_specific_header_t, and the v1 variant) and qemu 7.2
// block/bochs.c (struct bochs_header).
const common = [
  { name: 'magic', type: 'bytes', length: 32, doc: '"Bochs Virtual HD Image", NUL-terminated' },
  { name: 'type', type: 'bytes', length: 16, doc: '"Redolog"' },
  { name: 'subtype', type: 'bytes', length: 16, doc: '"Growing", "Undoable" or "Volatile"' },
  { name: 'version', type: 'u32', doc: '0x00010000 (1.0) or 0x00020000 (2.0)' },
  { name: 'headerSize', type: 'u32', doc: 'header size in bytes; the catalog starts here (512)' },
  { name: 'catalogEntries', type: 'u32', doc: 'entries in the catalog (one u32 per extent)' },
  { name: 'bitmapSize', type: 'u32', doc: 'bytes of the allocation bitmap before each extent' },
  { name: 'extentSize', type: 'u32', doc: 'bytes of data per extent' },
];

export default [
  {
    name: 'BochsHeaderV1',
    field: 'header',
    doc: 'Bochs redolog header, version 1.0: the disk size follows the extent size.',
    endianness: 'little',
    fields: [...common, { name: 'diskSize', type: 'u64', doc: 'virtual disk size in bytes' }],
    size: 92,
  },
  {
    name: 'BochsHeaderV2',
    field: 'header',
    doc: 'Bochs redolog header, version 2.0: a timestamp (qemu: "reserved") precedes the disk size.',
    endianness: 'little',
    fields: [
      ...common,
      { name: 'timestamp', type: 'u32', doc: 'modification time of the base image (undoable redologs), FAT date and time' },
      { name: 'diskSize', type: 'u64', doc: 'virtual disk size in bytes' },
    ],
    size: 96,
  },
];
