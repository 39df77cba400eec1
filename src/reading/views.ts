/**
 * Readers over part of another reader, for modules that assemble volumes themselves: a
 * logical volume from a physical volume's extents (LVM2), a partition of a guest disk. They
 * share the parent's budget and signal, serve ranges in the parent's order rule (any order
 * over a random-access parent walked by a file system), and start past detection.
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import type { ByteReader } from './byte-reader.js';
import { type MappedExtent, mappedBackend, sliceBackend } from './layers.js';
import { Reader } from './reader.js';

export type { MappedExtent } from './layers.js';

function parentReader(parent: ByteReader): Reader {
  if (!(parent instanceof Reader)) throw new IntrospectionError('INTERNAL', 'a view needs a reader the library made');
  return parent;
}

function childOf(parent: Reader, backend: ReturnType<typeof mappedBackend>): Reader {
  return new Reader(backend, { budget: parent.budget, signal: parent.signal, probeLimit: 0, detect: false, ordered: parent.ordered });
}

/** `size` bytes made of pieces of `parent` (`at`), zeros where a piece has no `at` or none covers. */
export function mappedView(parent: ByteReader, extents: readonly MappedExtent[], size: number): ByteReader {
  const reader = parentReader(parent);
  return childOf(reader, mappedBackend(reader, extents, size));
}

/** Bytes `[offset, offset + length)` of `parent` (a partition). */
export function sliceView(parent: ByteReader, offset: number, length: number): ByteReader {
  const reader = parentReader(parent);
  return childOf(reader, sliceBackend(reader, offset, length));
}
