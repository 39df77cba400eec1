// Fixed layout of the qcow version 1 header. Source: qemu 7.2 block/qcow.c (QCowHeader);
// every integer is big-endian.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'QcowHeader', field: 'header', endianness: 'big', size: 48,
    doc: 'The qcow (version 1) header, as qemu 7.2 reads it (block/qcow.c QCowHeader).',
    fields: `
      magic             | bytes[4] = "QFI\xfb"                    | the qcow and qcow2 magic
      version           | u32                                     | 1
      backingFileOffset | u64                                     | offset of the backing file name (not NUL-terminated); 0: no backing file
      backingFileSize   | u32                                     | length of the backing file name (qemu: at most 1023)
      mtime             | u32                                     | modification time of the backing file, seconds since the epoch (qemu writes 0)
      size              | u64                                     | virtual disk size in bytes
      clusterBits       | u8                                      | log2 of the cluster size (qemu: 9 to 16)
      l2Bits            | u8                                      | log2 of the entries per L2 table (qemu: 6 to 13)
      padding           | u16                                     | unused
      cryptMethod       | u32 enum QcowEncryption (0 none, 1 aes) | 0 none, 1 AES-CBC
      l1TableOffset     | u64                                     | offset of the L1 table
    `,
  },
];
