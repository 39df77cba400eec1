// Fixed layout of the Bochs "redolog" header. Sources: Bochs iodev/hdimage/hdimage.h
// (standard_header_t, redolog_specific_header_t, and the v1 variant) and qemu 7.2
// block/bochs.c (struct bochs_header).
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'BochsHeader', field: 'header', endianness: 'little', size: 96,
    doc: 'Bochs redolog header, versions 1.0 and 2.0: version 2.0 has a timestamp (qemu: "reserved") before the disk size.',
    fields: `
      magic          | bytes[32]               | "Bochs Virtual HD Image", NUL-terminated
      type           | bytes[16]               | "Redolog"
      subtype        | bytes[16]               | "Growing", "Undoable" or "Volatile"
      version        | u32                     | 0x00010000 (1.0) or 0x00020000 (2.0)
      headerSize     | u32                     | header size in bytes; the catalog starts here (512)
      catalogEntries | u32                     | entries in the catalog (one u32 per extent)
      bitmapSize     | u32                     | bytes of the allocation bitmap before each extent
      extentSize     | u32                     | bytes of data per extent
      timestamp      | u32 if version = 131072 | modification time of the base image (undoable redologs), FAT date and time
      diskSize       | u64                     | virtual disk size in bytes
    `,
  },
];
