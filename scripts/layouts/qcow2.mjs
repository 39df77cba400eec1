// Fixed layouts of qcow2 structures. Sources: qemu docs/interop/qcow2.txt (the qcow2
// specification), qemu 7.2 block/qcow2.h (QCowHeader, QCowSnapshotHeader,
// Qcow2BitmapHeaderExt, Qcow2CryptoHeaderExtension) and block/qcow2-bitmap.c
// (Qcow2BitmapDirEntry). Every integer is big-endian.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'Qcow2HeaderCommon', field: 'header', endianness: 'big', size: 72,
    doc: 'The qcow2 header fields common to versions 2 and 3 (qcow2 specification, "Header", bytes 0 to 71). A version 2 header ends here.',
    fields: `
      magic                 | bytes[4] = "QFI\xfb"                             | the qcow and qcow2 magic
      version               | u32                                              | 2 (compat 0.10) or 3 (compat 1.1)
      backingFileOffset     | u64                                              | offset of the backing file name (not NUL-terminated); 0: no backing file. Must lie in the first cluster
      backingFileSize       | u32                                              | length of the backing file name in bytes (qemu: at most 1023)
      clusterBits           | u32                                              | log2 of the cluster size (qemu: 9 to 21)
      size                  | u64                                              | virtual disk size in bytes
      cryptMethod           | u32 enum Qcow2Encryption (0 none, 1 aes, 2 luks) | 0 none, 1 AES-CBC (legacy), 2 LUKS
      l1Size                | u32                                              | entries in the active L1 table
      l1TableOffset         | u64                                              | offset of the active L1 table (cluster-aligned)
      refcountTableOffset   | u64                                              | offset of the refcount table (cluster-aligned)
      refcountTableClusters | u32                                              | clusters occupied by the refcount table
      nbSnapshots           | u32                                              | number of internal snapshots
      snapshotsOffset       | u64                                              | offset of the snapshot table (cluster-aligned)
    `,
  }, {
    name: 'Qcow2HeaderVersion3', field: 'header', endianness: 'big', size: 32,
    doc: 'The version 3 header fields (qcow2 specification, "Header", bytes 72 to 103), decoded from byte 72 of the header.',
    fields: `
      incompatibleFeatures | u64 | bit 0 dirty, 1 corrupt, 2 external data file, 3 compression type, 4 extended L2 entries; an unknown bit means "do not open"
      compatibleFeatures   | u64 | bit 0 lazy refcounts
      autoclearFeatures    | u64 | bit 0 bitmaps extension consistent, bit 1 raw external data
      refcountOrder        | u32 | refcount width is 1 << refcountOrder bits (0 to 6)
      headerLength         | u32 | length of the header in bytes (at least 104; qemu 7.2 writes 112); header extensions follow
    `,
  }, {
    name: 'Qcow2HeaderExtensionHeader', field: 'header extension', endianness: 'big', size: 8,
    doc: 'The start of each header extension (qcow2 specification, "Header extensions"); `length` bytes of data follow, padded to a multiple of 8.',
    fields: `
      type   | u32 | 0 end, 0xe2792aca backing file format, 0x6803f857 feature name table, 0x23852875 bitmaps, 0x0537be77 full disk encryption header pointer, 0x44415441 external data file name
      length | u32 | length of the data in bytes, without padding
    `,
  }, {
    name: 'Qcow2FeatureNameEntry', field: 'feature name table', endianness: 'big', size: 48,
    doc: 'One entry of the feature name table extension (qcow2 specification, "Feature name table").',
    fields: `
      type | u8 enum Qcow2FeatureType (0 incompatible, 1 compatible, 2 autoclear) | 0 incompatible, 1 compatible, 2 autoclear
      bit  | u8                                                                   | bit number in the feature mask (0 to 63)
      name | bytes[46]                                                            | feature name, NUL-padded (not terminated when 46 bytes long)
    `,
  }, {
    name: 'Qcow2BitmapsExtension', field: 'bitmaps extension', endianness: 'big', size: 24,
    doc: 'The bitmaps header extension (qcow2 specification, "Bitmaps extension"; qemu Qcow2BitmapHeaderExt).',
    fields: `
      nbBitmaps             | u32 | number of bitmaps in the directory (1 to 65535)
      reserved              | u32 | must be 0
      bitmapDirectorySize   | u64 | size of the bitmap directory in bytes
      bitmapDirectoryOffset | u64 | offset of the bitmap directory (cluster-aligned)
    `,
  }, {
    name: 'Qcow2EncryptionHeaderPointer', field: 'full disk encryption header extension', endianness: 'big', size: 16,
    doc: 'The full disk encryption header pointer extension (qcow2 specification, "Full disk encryption header pointer"): where the LUKS header is stored inside the image.',
    fields: `
      offset | u64 | offset of the encryption header (cluster-aligned)
      length | u64 | length of the encryption header in bytes
    `,
  }, {
    name: 'Qcow2SnapshotHeader', field: 'snapshot table', endianness: 'big', size: 40,
    doc: 'The fixed part of a snapshot table entry (qcow2 specification, "Snapshots"; qemu QCowSnapshotHeader). Extra data, the ID and the name follow; each entry is padded to a multiple of 8.',
    fields: `
      l1TableOffset      | u64 | offset of the snapshot's L1 table
      l1Size             | u32 | entries in the snapshot's L1 table
      idStringSize       | u16 | length of the unique ID string
      nameSize           | u16 | length of the name
      dateSeconds        | u32 | creation time, seconds since the epoch
      dateNanoseconds    | u32 | creation time, nanoseconds within the second
      vmClockNanoseconds | u64 | guest clock when the snapshot was taken, in nanoseconds
      vmStateSize        | u32 | size of the saved VM state (superseded by the 64-bit extra field)
      extraDataSize      | u32 | bytes of extra data (qemu: at most 1024); v3 writes 16 or 24
    `,
  }, {
    name: 'Qcow2BitmapDirectoryEntry', field: 'bitmap directory', endianness: 'big', size: 24,
    doc: 'The fixed part of a bitmap directory entry (qcow2 specification, "Bitmap directory"; qemu Qcow2BitmapDirEntry). Extra data and the name follow; each entry is padded to a multiple of 8.',
    fields: `
      bitmapTableOffset | u64 | offset of the bitmap table (cluster-aligned)
      bitmapTableSize   | u32 | entries in the bitmap table
      flags             | u32 | bit 0 in use, bit 1 auto, bit 2 extra data compatible; others reserved
      type              | u8  | 1: dirty tracking bitmap
      granularityBits   | u8  | log2 of the bytes one bit covers (qemu: 9 to 31)
      nameSize          | u16 | length of the name (qemu: at most 1023)
      extraDataSize     | u32 | bytes of extra data (qemu supports none)
    `,
  },
];
