/**
 * The `backing_file` safety check of the formats whose details name a backing file and
 * nothing more about it (qcow version 1, QED): qemu opens that file from the host when the
 * image is used, so an image from an untrusted source must not name one (OSSA-2024-001).
 *
 * @module
 */
import { type SafetyCheck, fail, pass } from '../../src/safety.js';

/** `backing_file`: fails when the details name a backing file, quoting its name. */
export function backingFileCheck<Details extends { backingFile: string | undefined }>(): SafetyCheck<Details, 'backing_file'> {
  return {
    name: 'backing_file',
    description: 'a backing file, which qemu would open from the host',
    run: (details) => (details.backingFile === undefined ? pass() : fail(`backing file "${details.backingFile}"`)),
  };
}
