/**
 * Every built-in format's correspondence with `qemu-img info --output=json`, by name: one
 * module per format, as `formats/` has one. The type makes a table for every registered
 * format a compile-time requirement.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { allFormats, type BuiltinFormat } from '../../formats/index.js';
import type { AnyFormatModule, InfoFor } from '../../src/index.js';
import { type AnyInfo, type Correspondence, expectAgreesWithQemu, type ImageFacts, type QemuJson } from '../helpers/qemu-correspondence.js';
import { bochsCorrespondence } from './bochs.js';
import { cloopCorrespondence } from './cloop.js';
import { dmgCorrespondence } from './dmg.js';
import { isoCorrespondence } from './iso.js';
import { luksCorrespondence } from './luks.js';
import { parallelsCorrespondence } from './parallels.js';
import { qcowCorrespondence } from './qcow.js';
import { qcow2Correspondence } from './qcow2.js';
import { qedCorrespondence } from './qed.js';
import { rawCorrespondence } from './raw.js';
import { vdiCorrespondence } from './vdi.js';
import { vhdCorrespondence } from './vhd.js';
import { vhdxCorrespondence } from './vhdx.js';
import { vmdkCorrespondence } from './vmdk.js';

/** The correspondences, by our format name. */
export const correspondences: { readonly [Module in BuiltinFormat as Module['name']]: Correspondence<InfoFor<Module>> } = {
  bochs: bochsCorrespondence,
  cloop: cloopCorrespondence,
  dmg: dmgCorrespondence,
  iso: isoCorrespondence,
  luks: luksCorrespondence,
  parallels: parallelsCorrespondence,
  qcow: qcowCorrespondence,
  qcow2: qcow2Correspondence,
  qed: qedCorrespondence,
  raw: rawCorrespondence,
  vdi: vdiCorrespondence,
  vhd: vhdCorrespondence,
  vhdx: vhdxCorrespondence,
  vmdk: vmdkCorrespondence,
};

/** What the comparison knows of a file on disk: its name and length. */
export function imageFile(path: string): ImageFacts {
  return { name: basename(path), length: statSync(path).size };
}

/**
 * Checks a result for a built-in format against what qemu-img printed for the same image,
 * with the format's table and module (see `expectAgreesWithQemu`): for the differential
 * tests (qemu-img run at test time) and the real-world images (the manifest's JSON).
 */
export function expectAgreesWithQemuInfo(info: AnyInfo, qemu: QemuJson, image: ImageFacts): void {
  const module = (allFormats as readonly AnyFormatModule[]).find((candidate) => candidate.name === info.format);
  if (module === undefined) throw new Error(`${info.format} is not a built-in format`);
  expectAgreesWithQemu(info, qemu, image, (correspondences as unknown as Record<string, Correspondence<AnyInfo>>)[info.format] as Correspondence<AnyInfo>, module);
}
