// Fixed layouts of LUKS headers. Sources: "LUKS On-Disk Format Specification" version 1.2.3
// (sections 2.4 and 2.5) and "LUKS2 On-Disk Format Specification" version 1.1.1 (section 2,
// "Binary header").
//
// Each field is a row: name | type | meaning (scripts/generate-layouts.mjs describes the types).
export default [
  {
    name: 'Luks1KeySlot', field: 'key slot', endianness: 'big', size: 48,
    doc: 'One of the eight LUKS1 key slots that follow the header fields at 208 (LUKS1 spec, section 2.4).',
    fields: `
      active            | u32       | 0x00AC71F3 enabled, 0x0000DEAD disabled
      iterations        | u32       | PBKDF2 iterations
      salt              | bytes[32] | PBKDF2 salt
      keyMaterialOffset | u32       | start of the key material, in 512-byte sectors
      stripes           | u32       | anti-forensic stripes (4000)
    `,
  }, {
    name: 'Luks1Header', field: 'header', endianness: 'big', size: 592,
    doc: 'LUKS1 partition header (phdr) with its key slots (LUKS1 spec, section 2.4).',
    fields: `
      magic                     | bytes[6] = "LUKS\xba\xbe" | the LUKS magic
      version                   | u16                       | 1
      cipherName                | bytes[32]                 | cipher name, NUL-terminated, e.g. "aes"
      cipherMode                | bytes[32]                 | cipher mode, NUL-terminated, e.g. "xts-plain64"
      hashSpec                  | bytes[32]                 | hash used by PBKDF2 and the anti-forensic splitter, e.g. "sha256"
      payloadOffset             | u32                       | start of the encrypted data, in 512-byte sectors
      keyBytes                  | u32                       | master key length in bytes
      masterKeyDigest           | bytes[20]                 | PBKDF2 digest of the master key
      masterKeyDigestSalt       | bytes[32]                 | salt of that digest
      masterKeyDigestIterations | u32                       | PBKDF2 iterations of that digest
      uuid                      | bytes[40]                 | partition UUID as text, NUL-terminated
      keySlots                  | Luks1KeySlot[8]           | the key slots
    `,
  }, {
    name: 'Luks2BinaryHeader', field: 'header', endianness: 'big', size: 4096,
    doc: 'LUKS2 binary header; the JSON metadata area follows it up to headerSize (LUKS2 spec, section 2).',
    fields: `
      magic             | bytes[6]   | "LUKS\\xba\\xbe" (primary) or "SKUL\\xba\\xbe" (secondary)
      version           | u16        | 2
      headerSize        | u64        | binary header plus JSON area, in bytes (16 KiB to 4 MiB)
      sequenceId        | u64        | sequence number, incremented on every update
      label             | bytes[48]  | label, NUL-terminated
      checksumAlgorithm | bytes[32]  | checksum algorithm, e.g. "sha256"
      salt              | bytes[64]  | salt, unique for each header
      uuid              | bytes[40]  | UUID as text, NUL-terminated
      subsystem         | bytes[48]  | owner subsystem label, NUL-terminated
      headerOffset      | u64        | offset of this header from the device start, in bytes
      -                 | skip[184]
      checksum          | bytes[64]  | header checksum (binary header with this field zeroed, then the JSON area)
      -                 | skip[3584]
    `,
  },
];
