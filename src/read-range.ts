/**
 * Argument checks shared by the readers.
 *
 * @module
 */
import { IntrospectionError } from './errors.js';

/**
 * Checks that a requested range is made of safe non-negative integers and that its
 * length fits the buffer budget. Offsets and lengths come from image fields, so a bad
 * one is the image's fault: `CORRUPT`, or `LIMIT_EXCEEDED` for a length over budget.
 */
export function checkRange(offset: number, length: number, field: string, maxLength: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new IntrospectionError('CORRUPT', `offset ${offset} is not a valid position in the image`, { field });
  }
  if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
    throw new IntrospectionError('CORRUPT', `length ${length} is not a valid byte count`, { field, offset });
  }
  if (length > maxLength) {
    throw new IntrospectionError(
      'LIMIT_EXCEEDED',
      `reading ${length} bytes would exceed the buffer budget (${maxLength} bytes available under maxBufferBytes)`,
      { field, offset },
    );
  }
}
