/**
 * Reads found while reading others, delivered in ascending order of offset.
 *
 * Some formats find their structures as they go: an ISO's directories point at more
 * directories, a UDF anchor at its descriptor sequences, a boot catalog at boot images.
 * Reading them as found would go back and forth; a stream cannot. A module schedules each
 * range with what to do with its bytes, and {@link ReadQueue.run} reads them lowest offset
 * first (overlapping ranges in one read), delivering each; deliveries may schedule more.
 * A range that lies behind bytes already read is delivered `undefined`, the same on every
 * kind of source: the module records what it could not read. A range that starts inside the
 * previous read (which a longer range scheduled beside it may have stretched) is served from
 * its bytes, the rest read after them: so a scan in consecutive windows goes on where its
 * last window ended, whatever was read with it.
 *
 * @module
 */
import type { ByteReader } from './byte-reader.js';

/** One range to read later, and what to do with its bytes. */
export interface ScheduledRead {
  /** Byte offset. */
  readonly offset: number;
  /** Bytes wanted. */
  readonly length: number;
  /** What the range holds, for error messages. */
  readonly field: string;
  /**
   * Receives the bytes (fewer where the image ends), or `undefined` when the range lies
   * behind bytes already read. May schedule more reads.
   */
  deliver(bytes: Uint8Array | undefined): void | Promise<void>;
}

/** Schedules reads and runs them in ascending order (see the module comment). */
export class ReadQueue {
  private pending: ScheduledRead[] = [];
  /** The bytes of the previous read, for a read that starts inside them. */
  private previous: { offset: number; bytes: Uint8Array } | undefined;

  /** @param reader - the reader the scheduled ranges are read from */
  constructor(private readonly reader: ByteReader) {}

  /** Schedules a read. */
  add(read: ScheduledRead): void {
    // Kept sorted by offset; insertion after equal offsets keeps the order of scheduling.
    let index = this.pending.length;
    while (index > 0 && (this.pending[index - 1] as ScheduledRead).offset > read.offset) index -= 1;
    this.pending.splice(index, 0, read);
  }

  /** The offset of the next read, if any is pending. */
  get nextOffset(): number | undefined {
    return this.pending[0]?.offset;
  }

  /** Reads and delivers the next range (with every pending range that overlaps it, in one read). */
  async step(): Promise<void> {
    const first = this.pending.shift();
    if (first === undefined) return;
    const group = [first];
    let end = first.offset + first.length;
    while (this.pending[0] !== undefined && (this.pending[0] as ScheduledRead).offset < end) {
      const next = this.pending.shift() as ScheduledRead;
      group.push(next);
      end = Math.max(end, next.offset + next.length);
    }
    const field = group.length === 1 ? first.field : group.map((read) => read.field).join(' + ');
    const bytes = await this.readFrom(first.offset, end - first.offset, field);
    for (const read of group) {
      if (bytes === undefined) {
        await read.deliver(undefined);
      } else {
        const start = read.offset - first.offset;
        await read.deliver(bytes.subarray(Math.min(start, bytes.byteLength), Math.min(start + read.length, bytes.byteLength)));
      }
    }
  }

  /**
   * Reads a range, taking what the previous read holds of it from there; remembers the
   * bytes read last (a range served whole from them leaves them as they are).
   */
  private async readFrom(offset: number, length: number, field: string): Promise<Uint8Array | undefined> {
    const previous = this.previous;
    const previousEnd = previous === undefined ? 0 : previous.offset + previous.bytes.byteLength;
    let bytes: Uint8Array | undefined;
    if (previous === undefined || offset < previous.offset || offset >= previousEnd) {
      bytes = await this.reader.tryRead(offset, length, field);
    } else {
      const held = previous.bytes.subarray(offset - previous.offset, Math.min(previous.bytes.byteLength, offset - previous.offset + length));
      if (held.byteLength === length) return held;
      const rest = await this.reader.tryRead(previousEnd, length - held.byteLength, field);
      if (rest === undefined) return undefined;
      bytes = new Uint8Array(held.byteLength + rest.byteLength);
      bytes.set(held);
      bytes.set(rest, held.byteLength);
    }
    if (bytes !== undefined) this.previous = { offset, bytes };
    return bytes;
  }

  /** Delivers every scheduled read, and the reads the deliveries schedule, in ascending order. */
  async run(): Promise<void> {
    while (this.pending.length > 0) await this.step();
  }
}
