// Fixed layout of the QED header. Sources: the QED specification (qemu docs/interop/qed_spec.txt)
// and qemu 7.2 block/qed.h (QEDHeader); every integer is little-endian.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'QedHeader', field: 'header', endianness: 'little', size: 64,
    doc: 'The QED header (QED specification, "Header").',
    fields: `
      magic                 | bytes[4] = "QED\x00" | the QED magic
      clusterSize           | u32                  | cluster size in bytes: a power of 2 from 4 KiB to 64 MiB
      tableSize             | u32                  | L1 and L2 table size in clusters: a power of 2 from 1 to 16
      headerSize            | u32                  | header size in clusters
      features              | u64                  | bit 0 backing file, bit 1 needs consistency check, bit 2 backing file is raw (do not probe)
      compatFeatures        | u64                  | compatible features (none defined)
      autoclearFeatures     | u64                  | autoclear features (none defined)
      l1TableOffset         | u64                  | offset of the L1 table (cluster-aligned)
      imageSize             | u64                  | virtual disk size in bytes
      backingFilenameOffset | u32                  | offset of the backing file name, in bytes
      backingFilenameSize   | u32                  | length of the backing file name in bytes
    `,
  },
];
