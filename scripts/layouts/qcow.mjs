// Fixed layout of the qcow version 1 header. Source: qemu 7.2 block/qcow.c (QCowHeader);
// every integer is big-endian.
export default [
  {
    name: 'QcowHeader',
    field: 'header',
    doc: 'The qcow (version 1) header, as qemu 7.2 reads it (block/qcow.c QCowHeader).',
    endianness: 'big',
    fields: [
      { name: 'magic', type: 'bytes', length: 4, contents: 'QFI\xfb', doc: 'the qcow and qcow2 magic' },
      { name: 'version', type: 'u32', doc: '1' },
      { name: 'backingFileOffset', type: 'u64', doc: 'offset of the backing file name (not NUL-terminated); 0: no backing file' },
      { name: 'backingFileSize', type: 'u32', doc: 'length of the backing file name (qemu: at most 1023)' },
      { name: 'mtime', type: 'u32', doc: 'modification time of the backing file, seconds since the epoch (qemu writes 0)' },
      { name: 'size', type: 'u64', doc: 'virtual disk size in bytes' },
      { name: 'clusterBits', type: 'u8', doc: 'log2 of the cluster size (qemu: 9 to 16)' },
      { name: 'l2Bits', type: 'u8', doc: 'log2 of the entries per L2 table (qemu: 6 to 13)' },
      { name: 'padding', type: 'u16', doc: 'unused' },
      { name: 'cryptMethod', type: 'u32', enum: { type: 'QcowEncryption', values: { 0: 'none', 1: 'aes' } }, doc: '0 none, 1 AES-CBC' },
      { name: 'l1TableOffset', type: 'u64', doc: 'offset of the L1 table' },
    ],
    size: 48,
  },
];
