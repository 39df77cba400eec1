// Fixed layout of the Parallels image header. Sources: qemu 7.2 docs/interop/parallels.txt and
// block/parallels.h (ParallelsHeader).
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'ParallelsHeader', field: 'header', endianness: 'little', size: 64,
    doc: 'Parallels disk image header, at offset 0, followed by the block allocation table (BAT).',
    fields: `
      magic           | latin1[16] | "WithoutFreeSpace" (BAT in sectors, 32-bit size) or "WithouFreSpacExt" (BAT in clusters; what qemu writes)
      version         | u32        | 2
      heads           | u32        | geometry: heads (not used by qemu)
      cylinders       | u32        | geometry: cylinders (not used by qemu)
      tracks          | u32        | sectors per cluster (qemu: cluster size / 512)
      batEntries      | u32        | entries in the BAT
      sectors         | u64        | virtual size in 512-byte sectors (only the low 32 bits for "WithoutFreeSpace")
      inUse           | u32        | 0x746F6E59 ("Ynot") while open, 0x312E3276 ("v2.1") or 0 when closed
      dataOffset      | u32        | first data sector (0: right after the BAT)
      flags           | u32        | flags (bit 0: empty image)
      extensionOffset | u64        | format extension cluster, in sectors (0: none)
    `,
  },
];
