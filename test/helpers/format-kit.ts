/**
 * What a per-format test file needs, in one place: introspection with every built-in format
 * (a result must not depend on which other formats are considered), the result typed as the
 * format's, its rejections, its fixtures, edited copies of them, and a scratch folder for
 * images made at test time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { allFormats, type BuiltinFormat } from '../../formats/index.js';
import { type ImageSource, type InfoFor, type IntrospectionError, introspect, isIntrospectionError } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { rejectionOf } from './errors.js';
import { fixtureBytes } from './fixtures.js';
import { qemuInfo } from './qemu.js';

/** Every built-in format, the list the per-format tests introspect with. */
export const formats = allFormats;

/** Any built-in format's result. */
export type Info = InfoFor<BuiltinFormat>;

/** The result type of the built-in format named `Name`. */
export type InfoOf<Name extends BuiltinFormat['name']> = InfoFor<Extract<BuiltinFormat, { name: Name }>>;

/** Introspects with every built-in format. */
export function run(source: ImageSource): Promise<Info> {
  return introspect(source, { formats });
}

/**
 * Introspects damaged bytes: the answer must be a JSON-safe result or an IntrospectionError
 * that is not `INTERNAL` (our own bug), never anything else.
 */
export async function expectResultOrCleanError(bytes: Uint8Array): Promise<void> {
  const outcome = await run(bytes).then(
    (info) => ({ info }),
    (error: unknown) => ({ error }),
  );
  if ('info' in outcome) {
    expect(JSON.parse(JSON.stringify(outcome.info.details))).toEqual(outcome.info.details);
  } else {
    expect(isIntrospectionError(outcome.error), String(outcome.error)).toBe(true);
    expect((outcome.error as IntrospectionError).code).not.toBe('INTERNAL');
  }
}

/** The helpers for the format `name`'s tests. */
export function formatKit<Name extends BuiltinFormat['name']>(name: Name) {
  return {
    /** The result, which must be this format's. */
    async info(source: ImageSource): Promise<InfoOf<Name>> {
      const info = await run(source);
      expect(info.format).toBe(name);
      return info as InfoOf<Name>;
    },
    /** The details of a result, which must be this format's. */
    details(info: Info): InfoOf<Name>['details'] {
      if (info.format !== name) throw new Error(`expected ${name}, got ${info.format}`);
      return info.details as InfoOf<Name>['details'];
    },
    /** The rejection of `source`, an IntrospectionError. */
    failure(source: ImageSource): Promise<IntrospectionError> {
      return rejectionOf(run(source));
    },
    /** The rejection of `source`, which must have this code and field and name this format. */
    async rejects(source: ImageSource, code: string, field: string): Promise<IntrospectionError> {
      const error = await rejectionOf(run(source));
      expect({ code: error.code, format: error.format, field: error.field }).toEqual({ code, format: name, field });
      return error;
    },
    /** A fresh copy of one of this format's fixtures. */
    fixtureBytes(file: string): Uint8Array {
      return fixtureBytes(name, file);
    },
    /** A fresh copy of a fixture with `edit` applied to it. */
    patched(file: string, edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
      const bytes = fixtureBytes(name, file);
      edit(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes);
      return bytes;
    },
  };
}

/** Bytes of a disk with data: zeros but every `step`th byte, which is `value(index)` (mostly not zero), for qemu-img to convert. */
export function patternedData(length: number, step: number, value: (index: number) => number): Uint8Array {
  const data = new Uint8Array(length);
  for (let index = 0; index < data.length; index += step) data[index] = value(index);
  return data;
}

/**
 * A scratch folder for images made at test time, removed after the current `describe`;
 * `agrees(file)` introspects one of its files and checks the result against `qemu-img info`
 * run on it now (`qemuFormat`: run as `-f qemuFormat`).
 */
export function scratch(prefix: string) {
  const work = mkdtempSync(join(tmpdir(), `image-introspect-${prefix}-`));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const path = (file: string) => join(work, file);
  return {
    work,
    path,
    async agrees(file: string, qemuFormat?: string): Promise<Info> {
      const info = await introspectFile(path(file), { formats });
      expectAgreesWithQemuInfo(info, qemuInfo(path(file), qemuFormat), imageFile(path(file)));
      return info;
    },
  };
}
