// Fixed layout of the cloop version 2 header. Sources: cloop compressed_loop.h (struct
// cloop_head, CLOOP_HEADROOM 128) and qemu 7.2 block/cloop.c (which reads the two fields at
// 128 and 132 and the offsets table at 136).
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'CloopHeader', field: 'header', endianness: 'big', size: 144,
    doc: 'cloop V2.0 header: a shell-script preamble padded to 128 bytes, two counts, then the first entry of the offsets table.',
    fields: `
      preamble         | bytes[128] | "#!/bin/sh\\n#V2.0 Format\\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\\n", NUL-padded
      blockSize        | u32        | uncompressed block size in bytes (a multiple of 512)
      blockCount       | u32        | number of blocks
      firstBlockOffset | u64        | offsets[0]: where the first compressed block starts (the offsets table has blockCount + 1 entries)
    `,
  },
];
