// Fixed layouts of VHD (Virtual PC / Hyper-V "vpc") structures. Sources: Microsoft
// "Virtual Hard Disk Image Format Specification" 1.0 (2006), sections "Hard Disk Footer
// Format" and "Dynamic Disk Header Format"; qemu 7.2 block/vpc.c (VHDFooter, VHDDynDiskHeader).
// Every integer is big-endian.
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'VhdParentLocatorEntry', field: 'parent locator', endianness: 'big', size: 24,
    doc: 'One of the eight parent locator entries of a VHD dynamic disk header (VHD specification, "Parent Locator Entries").',
    fields: `
      platformCode       | bytes[4] | "W2ku", "W2ru", "Wi2k", "Wi2r", "Mac ", "MacX", or zero when unused
      platformDataSpace  | u32      | room reserved for the locator data (the spec says sectors; Windows writes bytes)
      platformDataLength | u32      | length of the locator data in bytes
      -                  | skip[4]
      platformDataOffset | u64      | byte offset of the locator data in the file
    `,
  }, {
    name: 'VhdFooter', field: 'footer', endianness: 'big', size: 512,
    doc: 'VHD hard disk footer: the last 512 bytes of every VHD, with a copy in the first 512 bytes of a dynamic or differencing disk (VHD specification, "Hard Disk Footer Format").',
    fields: `
      cookie             | bytes[8] = "conectix" else 'the footer does not start with "conectix"' | the footer's cookie
      features           | u32                                                                    | bit 0 temporary disk, bit 1 reserved (always set)
      formatVersion      | u32                                                                    | major (high 16 bits) and minor version, 0x00010000
      dataOffset         | u64                                                                    | byte offset of the dynamic disk header; 0xFFFFFFFFFFFFFFFF for a fixed disk
      timestamp          | u32                                                                    | creation time, seconds since 2000-01-01 00:00:00 UTC
      creatorApplication | bytes[4]                                                               | creator application, e.g. "vpc ", "win ", "qemu", "qem2", "d2v ", "tap\\0", "CTXS", "vbox"
      creatorVersion     | u32                                                                    | creator version, major (high 16 bits) and minor
      creatorHostOs      | bytes[4]                                                               | "Wi2k" (Windows) or "Mac " (Macintosh)
      originalSize       | u64                                                                    | disk size in bytes at creation
      currentSize        | u64                                                                    | current disk size in bytes
      cylinders          | u16                                                                    | CHS geometry: cylinders
      heads              | u8                                                                     | CHS geometry: heads
      sectorsPerTrack    | u8                                                                     | CHS geometry: sectors per track
      diskType           | u32 enum VhdDiskType (2 fixed, 3 dynamic, 4 differencing)              | 2 fixed, 3 dynamic, 4 differencing (0, 1, 5, 6 reserved)
      checksum           | u32                                                                    | one's complement of the byte sum of the footer with this field zeroed
      uniqueId           | bytes[16]                                                              | UUID of the disk, RFC 4122 byte order
      savedState         | u8                                                                     | 1 when the disk is in a saved state
      -                  | skip[427]
    `,
  }, {
    name: 'VhdDynamicHeader', field: 'dynamic header', endianness: 'big', size: 1024,
    doc: 'VHD dynamic disk header ("cxsparse"), at the footer\'s dataOffset in dynamic and differencing disks (VHD specification, "Dynamic Disk Header Format").',
    fields: `
      cookie               | bytes[8] = "cxsparse" else 'the dynamic disk header does not start with "cxsparse"' | the dynamic disk header's cookie
      dataOffset           | u64                                                                                 | unused, 0xFFFFFFFFFFFFFFFF
      tableOffset          | u64                                                                                 | byte offset of the block allocation table (BAT)
      headerVersion        | u32                                                                                 | 0x00010000
      maxTableEntries      | u32                                                                                 | entries in the BAT (blocks the disk may have)
      blockSize            | u32                                                                                 | bytes of disk data per block (2 MiB by default), a power of two
      checksum             | u32                                                                                 | one's complement of the byte sum of the 1024-byte header with this field zeroed
      parentUniqueId       | bytes[16]                                                                           | differencing disks: the parent's UUID
      parentTimestamp      | u32                                                                                 | differencing disks: the parent's modification time, seconds since 2000-01-01 UTC
      -                    | skip[4]
      parentUnicodeName    | bytes[512]                                                                          | differencing disks: the parent's file name, UTF-16 big-endian, NUL padded
      parentLocatorEntries | VhdParentLocatorEntry[8]                                                            | the parent locator entries (unused ones all zero)
      -                    | skip[256]
    `,
  },
];
