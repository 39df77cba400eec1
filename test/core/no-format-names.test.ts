/**
 * The core knows no format (issue 10: "`grep` finds no format name in `src/` outside the
 * default list's import"). What is particular to a format is declared by its module; the
 * core reads the declarations.
 *
 * The rule, checked on every `.ts` file under `src/` by walking TypeScript's syntax tree:
 *
 * | where | rule |
 * | --- | --- |
 * | comments (and TSDoc) | free: they may name formats as examples ("a fixed VHD's footer") |
 * | identifiers | no word of the name is a registered module's name or alias (`vmdkAllowedTypes`, `QED_MAGIC`, `isVhdx` break it) |
 * | string, template and regular-expression literals | no word of the text is a registered module's name or alias (`'vmdk'`, `'--vmdk-allowed-types'`, `` `a ${x} VMDK` `` break it) |
 *
 * A word is a run of letters and digits, split where the case changes (`vhdxRegion` is
 * `vhdx` and `Region`), compared without case. The names are those of every module in
 * `formats/index.ts` and `containers/index.ts`, and their `aliases` (`vpc`, `ploop`).
 * Importing the default lists (`allFormats`, `allContainers`, `BuiltinFormat` from
 * `../formats/index.js`) passes the rule as it stands: those names hold no format's name.
 * So `src/index.ts`, `src/node.ts` and the CLI are held to it too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allContainers } from '../../containers/index.js';
import { allFormats } from '../../formats/index.js';
import { projectRoot } from '../helpers/fixtures.js';

/**
 * Platform names that split into a module's name by accident: `Date.prototype.toISOString`
 * reads as `to`, `ISO`, `String`.
 */
const PLATFORM_IDENTIFIERS = new Set(['toISOString']);

/** Every registered module's name and alias, lower case. */
const moduleNames = new Set<string>(
  [...allFormats, ...allContainers].flatMap((module) => [module.name, ...(('aliases' in module ? module.aliases : undefined) ?? [])]).map((name) => name.toLowerCase()),
);

/** The words of an identifier or a text: runs of letters and digits, split where lower case turns upper. */
function wordsOf(text: string): string[] {
  return (text.match(/[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*(?![a-z])|[0-9]+/g) ?? []).map((word) => word.toLowerCase());
}

interface Finding {
  file: string;
  line: number;
  kind: 'identifier' | 'literal';
  text: string;
  names: string[];
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .flatMap((entry) => {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return entry.endsWith('.ts') ? [path] : [];
    });
}

/** The identifiers and literals of one file that name a registered module. */
function findModuleNames(fileName: string, text: string, names: ReadonlySet<string> = moduleNames): Finding[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const note = (node: ts.Node, kind: Finding['kind'], value: string) => {
    if (kind === 'identifier' && PLATFORM_IDENTIFIERS.has(value)) return;
    const found = [...new Set(wordsOf(value).filter((word) => names.has(word)))];
    if (found.length === 0) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    findings.push({ file: fileName, line, kind, text: value.length > 80 ? `${value.slice(0, 77)}...` : value, names: found });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) note(node, 'identifier', node.text);
    else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node) || ts.isRegularExpressionLiteral(node)) {
      note(node, 'literal', node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

describe('src/ names no format (comments aside)', () => {
  it('the rule catches what it should, and leaves comments alone', () => {
    const names = new Set(['vmdk', 'qcow2', 'vpc', 'iso']);
    const sample = [
      '// a VMDK descriptor, a qcow2 header: examples in comments are fine',
      '/** e.g. `vmdk` */',
      "const allowed = options.vmdkAllowedTypes;",
      "if (info.format === 'qcow2') warn(`a ${kind} VPC footer`);",
      'const QCOW2_MAGIC = /qcow2/;',
      'const when = new Date().toISOString();',
      "const isoish = 'isotope';",
    ].join('\n');
    expect(findModuleNames('sample.ts', sample, names).map((finding) => [finding.line, finding.kind, finding.text, finding.names])).toEqual([
      [3, 'identifier', 'vmdkAllowedTypes', ['vmdk']],
      [4, 'literal', 'qcow2', ['qcow2']],
      [4, 'literal', ' VPC footer', ['vpc']],
      [5, 'identifier', 'QCOW2_MAGIC', ['qcow2']],
      [5, 'literal', '/qcow2/', ['qcow2']],
    ]);
  });

  it('finds no registered module named in an identifier or a literal of src/', () => {
    expect(moduleNames.size).toBeGreaterThanOrEqual(allFormats.length + allContainers.length);
    const src = join(projectRoot, 'src');
    const findings = sourceFiles(src).flatMap((path) => findModuleNames(relative(projectRoot, path), readFileSync(path, 'utf8')));
    expect(findings.map((finding) => `${finding.file}:${finding.line}: ${finding.kind} ${JSON.stringify(finding.text)} names ${finding.names.join(', ')}`)).toEqual([]);
  });
});
