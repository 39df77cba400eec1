// Fixed layout of the QED header. Sources: the QED specification (qemu docs/interop/qed_spec.txt)
// and qemu 7.2 block/qed.h (QEDHeader); every integer is little-endian.
export default [
  {
    name: 'QedHeader',
    field: 'header',
    doc: 'The QED header (QED specification, "Header").',
    endianness: 'little',
    fields: [
      { name: 'magic', type: 'bytes', length: 4, contents: 'QED\0', doc: 'the QED magic' },
      { name: 'clusterSize', type: 'u32', doc: 'cluster size in bytes: a power of 2 from 4 KiB to 64 MiB' },
      { name: 'tableSize', type: 'u32', doc: 'L1 and L2 table size in clusters: a power of 2 from 1 to 16' },
      { name: 'headerSize', type: 'u32', doc: 'header size in clusters' },
      { name: 'features', type: 'u64', doc: 'bit 0 backing file, bit 1 needs consistency check, bit 2 backing file is raw (do not probe)' },
      { name: 'compatFeatures', type: 'u64', doc: 'compatible features (none defined)' },
      { name: 'autoclearFeatures', type: 'u64', doc: 'autoclear features (none defined)' },
      { name: 'l1TableOffset', type: 'u64', doc: 'offset of the L1 table (cluster-aligned)' },
      { name: 'imageSize', type: 'u64', doc: 'virtual disk size in bytes' },
      { name: 'backingFilenameOffset', type: 'u32', doc: 'offset of the backing file name, in bytes' },
      { name: 'backingFilenameSize', type: 'u32', doc: 'length of the backing file name in bytes' },
    ],
    size: 64,
  },
];
