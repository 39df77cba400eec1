/**
 * The last N bytes of a stream that is passing by, kept cheaply whatever the chunking.
 *
 * Large chunks are kept as views (no copy); runs of small chunks are copied into 4 KiB
 * blocks so that a stream of one-byte chunks does not become a million pieces. Pieces that
 * newer ones make unnecessary are dropped from the front, in amortised constant time.
 *
 * @module
 */

/** Chunks smaller than this are copied into shared blocks of this size. */
const BLOCK = 4096;
/** A kept view is copied when its chunk's buffer is this much larger, so a small tail never pins a huge chunk. */
const PIN_RATIO = 4;
const PIN_MINIMUM = 1 << 20;

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

export class TailWindow {
  private pieces: Piece[] = [];
  private first = 0;
  private piecesLength = 0;
  private block: Uint8Array | undefined;
  private blockOffset = 0;
  private blockLength = 0;

  constructor(readonly capacity: number) {}

  /** Bytes held (at most `capacity` plus one chunk or block). */
  get heldBytes(): number {
    return this.piecesLength + this.blockLength;
  }

  /** The stream offset of the first byte held, or `undefined` when nothing is held. */
  get startOffset(): number | undefined {
    const piece = this.pieces[this.first];
    if (piece !== undefined) return piece.offset;
    return this.blockLength > 0 ? this.blockOffset : undefined;
  }

  /** Records `chunk`, which starts at stream offset `offset`. */
  add(offset: number, chunk: Uint8Array): void {
    if (this.capacity === 0 || chunk.byteLength === 0) return;
    if (chunk.byteLength >= BLOCK) {
      this.flushBlock();
      let piece = chunk;
      let pieceOffset = offset;
      if (piece.byteLength > this.capacity) {
        pieceOffset += piece.byteLength - this.capacity;
        piece = piece.subarray(piece.byteLength - this.capacity);
      }
      if (piece.buffer.byteLength > PIN_MINIMUM && piece.byteLength * PIN_RATIO < piece.buffer.byteLength) piece = new Uint8Array(piece);
      this.push({ offset: pieceOffset, bytes: piece });
    } else {
      let source = chunk;
      let sourceOffset = offset;
      while (source.byteLength > 0) {
        if (this.block === undefined || this.blockOffset + this.blockLength !== sourceOffset || this.blockLength === BLOCK) {
          this.flushBlock();
          this.block = new Uint8Array(BLOCK);
          this.blockOffset = sourceOffset;
        }
        const take = Math.min(source.byteLength, BLOCK - this.blockLength);
        this.block.set(source.subarray(0, take), this.blockLength);
        this.blockLength += take;
        source = source.subarray(take);
        sourceOffset += take;
      }
    }
    this.trim();
  }

  /** Bytes `[offset, end)` if they are all held, else `undefined`. */
  read(offset: number, end: number): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    let cursor = offset;
    const visit = (pieceOffset: number, bytes: Uint8Array): boolean => {
      const pieceEnd = pieceOffset + bytes.byteLength;
      if (pieceEnd <= cursor) return true;
      if (pieceOffset > cursor) return false;
      const stop = Math.min(end, pieceEnd);
      parts.push(bytes.subarray(cursor - pieceOffset, stop - pieceOffset));
      cursor = stop;
      return cursor < end;
    };
    for (let index = this.first; index < this.pieces.length && cursor < end; index += 1) {
      const piece = this.pieces[index] as Piece;
      if (!visit(piece.offset, piece.bytes)) break;
    }
    if (cursor < end && this.block !== undefined) visit(this.blockOffset, this.block.subarray(0, this.blockLength));
    if (cursor < end) return undefined;
    return parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
  }

  private push(piece: Piece): void {
    this.pieces.push(piece);
    this.piecesLength += piece.bytes.byteLength;
  }

  private flushBlock(): void {
    if (this.block === undefined || this.blockLength === 0) return;
    this.push({ offset: this.blockOffset, bytes: this.block.subarray(0, this.blockLength) });
    this.block = undefined;
    this.blockLength = 0;
  }

  /** Drops front pieces while the rest still covers `capacity` bytes. */
  private trim(): void {
    while (this.first < this.pieces.length) {
      const front = this.pieces[this.first] as Piece;
      if (this.heldBytes - front.bytes.byteLength < this.capacity) break;
      this.piecesLength -= front.bytes.byteLength;
      this.first += 1;
    }
    if (this.first > 64 && this.first * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.first);
      this.first = 0;
    }
  }
}

/** Joins byte arrays into one. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.byteLength;
  }
  return result;
}
