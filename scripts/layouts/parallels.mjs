// Fixed layout of the Parallels image header. Sources: qemu 7.2 docs/interop/parallels.txt and
// block/parallels.h (ParallelsHeader).
export default [
  {
    name: 'ParallelsHeader',
    field: 'header',
    doc: 'Parallels disk image header, at offset 0, followed by the block allocation table (BAT).',
    endianness: 'little',
    fields: [
      { name: 'magic', type: 'latin1', length: 16, doc: '"WithoutFreeSpace" (BAT in sectors, 32-bit size) or "WithouFreSpacExt" (BAT in clusters; what qemu writes)' },
      { name: 'version', type: 'u32', doc: '2' },
      { name: 'heads', type: 'u32', doc: 'geometry: heads (not used by qemu)' },
      { name: 'cylinders', type: 'u32', doc: 'geometry: cylinders (not used by qemu)' },
      { name: 'tracks', type: 'u32', doc: 'sectors per cluster (qemu: cluster size / 512)' },
      { name: 'batEntries', type: 'u32', doc: 'entries in the BAT' },
      { name: 'sectors', type: 'u64', doc: 'virtual size in 512-byte sectors (only the low 32 bits for "WithoutFreeSpace")' },
      { name: 'inUse', type: 'u32', doc: '0x746F6E59 ("Ynot") while open, 0x312E3276 ("v2.1") or 0 when closed' },
      { name: 'dataOffset', type: 'u32', doc: 'first data sector (0: right after the BAT)' },
      { name: 'flags', type: 'u32', doc: 'flags (bit 0: empty image)' },
      { name: 'extensionOffset', type: 'u64', doc: 'format extension cluster, in sectors (0: none)' },
    ],
    size: 64,
  },
];
