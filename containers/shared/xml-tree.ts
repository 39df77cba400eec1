/**
 * XML bytes to a small namespace-resolved element tree, safely: nothing is ever expanded
 * or fetched. A document type declaration stops the reading at once (the caller is told,
 * and gets no tree); entity references other than the five predefined ones and character
 * references are errors. Depth and element counts are capped.
 *
 * The tokenizer is `saxes` 6 (a strict, well-formedness-checking SAX parser that never
 * processes a DTD's internal subset and has no way to load anything); see
 * `docs/dependencies.md`, "XML", for why it and not the alternatives. Its namespace
 * tracking walks the open-element stack, so its cost grows with depth squared: the depth
 * cap is enforced in the open-tag handler, which stops it long before that matters.
 *
 * @module
 */
import type { SaxesParser, SaxesTagNS } from 'saxes';

/**
 * The tokenizer, loaded by {@link loadXmlTokenizer} when a descriptor is first read: a
 * bundle or a command line that never opens an OVA does not load `saxes` at all.
 */
let Tokenizer: typeof SaxesParser | undefined;

/** Loads the XML tokenizer (`saxes`); {@link readXmlTree} needs it loaded. */
export async function loadXmlTokenizer(): Promise<void> {
  if (Tokenizer !== undefined) return;
  // saxes is CommonJS: bundlers give its exports as named ones, or only as `default`.
  const loaded = (await import('saxes')) as typeof import('saxes') & { default?: typeof import('saxes') };
  Tokenizer = loaded.SaxesParser ?? loaded.default?.SaxesParser;
  if (Tokenizer === undefined) throw fieldError('INTERNAL', 'xml', 'the XML tokenizer (saxes) did not load');
}
import { fieldError, isIntrospectionError } from '../../src/errors.js';

/** The deepest element nesting read: 64 (OVF descriptors nest about 6 deep). */
export const XML_MAX_DEPTH = 64;

/**
 * The most elements read from one document: 50,000. A large vSphere descriptor has about
 * 2,000; reading 50,000 empty elements takes about 0.6 s here, which bounds a hostile one.
 */
export const XML_MAX_ELEMENTS = 50_000;

/** The most attributes on one element: 256 (OVF elements carry fewer than 10). */
export const XML_MAX_ATTRIBUTES = 256;

/** One attribute, its name resolved to a namespace URI (`''` when unprefixed). */
export interface XmlAttribute {
  namespace: string;
  name: string;
  value: string;
}

/** One element: resolved name, attributes, children in order, and its own text (character data and CDATA directly inside it). */
export interface XmlElement {
  namespace: string;
  name: string;
  prefix: string;
  attributes: XmlAttribute[];
  children: XmlElement[];
  text: string;
}

/** What reading a document found. */
export type XmlReadResult =
  | { kind: 'tree'; root: XmlElement; undeclaredPrefixes: string[]; elementCount: number; prologComments: string[] }
  | { kind: 'doctype'; doctype: string };

/** Options for {@link readXmlTree}. */
export interface XmlReadOptions {
  /** The field named in errors, e.g. `'ovf descriptor'`. */
  field: string;
  /**
   * Namespace URIs for prefixes a document uses without declaring them (some hand-edited
   * descriptors do). Prefixes found neither in the document nor here resolve to
   * `urn:unbound-prefix:<prefix>`. Every undeclared prefix is listed in the result.
   */
  knownPrefixes?: Readonly<Record<string, string>>;
}

/** Thrown from a handler to stop saxes at a DOCTYPE; never escapes this module. */
class DoctypeFound {
  constructor(readonly doctype: string) {}
}

/**
 * Decodes XML bytes to text: a UTF-8 or UTF-16 byte order mark decides, else the XML
 * declaration's `encoding` (UTF-8, US-ASCII and ISO-8859-1/Latin-1 are read; others are
 * `UNSUPPORTED`), else UTF-8 (XML 1.0 section 4.3.3 and appendix F).
 */
export function decodeXmlBytes(bytes: Uint8Array, field: string): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = new Uint8Array((bytes.byteLength - 2) & ~1);
    for (let index = 0, end = swapped.byteLength; index < end; index += 2) {
      swapped[index] = bytes[index + 3] as number;
      swapped[index + 1] = bytes[index + 2] as number;
    }
    return new TextDecoder('utf-16le').decode(swapped);
  }
  const declaration = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(new TextDecoder('latin1').decode(bytes.subarray(0, 200)));
  const encoding = declaration?.[1]?.toLowerCase();
  if (encoding === undefined || encoding === 'utf-8' || encoding === 'utf8' || encoding === 'us-ascii' || encoding === 'ascii') {
    return new TextDecoder('utf-8').decode(bytes);
  }
  if (encoding === 'iso-8859-1' || encoding === 'latin1' || encoding === 'latin-1') return new TextDecoder('latin1').decode(bytes);
  throw fieldError('UNSUPPORTED', field, `encoding "${encoding}" is not read (UTF-8, UTF-16, US-ASCII and ISO-8859-1 are)`);
}

/**
 * Reads a whole document into a tree. A DOCTYPE ends the reading (nothing in it is
 * processed) and is returned instead of a tree. Not well-formed XML (including an
 * undefined entity reference) is `CORRUPT`; deeper than {@link XML_MAX_DEPTH}, more than
 * {@link XML_MAX_ELEMENTS} elements or {@link XML_MAX_ATTRIBUTES} attributes is
 * `LIMIT_EXCEEDED`.
 */
export function readXmlTree(text: string, options: XmlReadOptions): XmlReadResult {
  const { field } = options;
  const undeclared = new Set<string>();
  if (Tokenizer === undefined) throw fieldError('INTERNAL', field, 'the XML tokenizer is not loaded (loadXmlTokenizer)');
  const parser = new Tokenizer({
    xmlns: true,
    // Line and column tracking costs saxes a third of its time; the offset (`position`) is
    // kept without it, and an error's line and column are computed from it (see lineAndColumn).
    position: false,
    resolvePrefix: (prefix: string) => {
      undeclared.add(prefix);
      return options.knownPrefixes?.[prefix] ?? `urn:unbound-prefix:${prefix}`;
    },
  });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elementCount = 0;
  const prologComments: string[] = [];

  parser.on('doctype', (doctype) => {
    throw new DoctypeFound(doctype);
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    elementCount += 1;
    if (stack.length >= XML_MAX_DEPTH) throw fieldError('LIMIT_EXCEEDED', field, `elements nest deeper than ${XML_MAX_DEPTH}`, parser.position);
    if (elementCount > XML_MAX_ELEMENTS) throw fieldError('LIMIT_EXCEEDED', field, `more than ${XML_MAX_ELEMENTS} elements`, parser.position);
    const attributes: XmlAttribute[] = [];
    for (const attribute of Object.values(tag.attributes)) {
      // Namespace declarations are the parser's business, not the document's data.
      if (attribute.prefix === 'xmlns' || (attribute.prefix === '' && attribute.local === 'xmlns')) continue;
      attributes.push({ namespace: attribute.uri, name: attribute.local, value: attribute.value });
    }
    if (attributes.length > XML_MAX_ATTRIBUTES) throw fieldError('LIMIT_EXCEEDED', field, `an element with more than ${XML_MAX_ATTRIBUTES} attributes`, parser.position);
    const element: XmlElement = { namespace: tag.uri, name: tag.local, prefix: tag.prefix, attributes, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = element;
    else parent.children.push(element);
    stack.push(element);
  });
  // Comments before the root often name the exporter ("Generated by VMware ovftool 4.6.3").
  parser.on('comment', (comment) => {
    if (root === undefined && prologComments.length < 8) prologComments.push(comment.trim().slice(0, 256));
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const addText = (value: string) => {
    const current = stack[stack.length - 1];
    if (current !== undefined) current.text += value;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('error', (error) => {
    throw fieldError('CORRUPT', field, `not well-formed XML: ${lineAndColumn(text, parser.position)}: ${error.message}`, parser.position);
  });

  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof DoctypeFound) return { kind: 'doctype', doctype: error.doctype };
    if (isIntrospectionError(error)) throw error;
    throw fieldError('CORRUPT', field, `not well-formed XML: ${lineAndColumn(text, parser.position)}: ${error instanceof Error ? error.message : String(error)}`, parser.position);
  }
  if (root === undefined) throw fieldError('CORRUPT', field, 'no root element');
  return { kind: 'tree', root, undeclaredPrefixes: [...undeclared].sort(), elementCount, prologComments };
}

/** `line:column` (1-based line, 0-based column, as saxes counts) of the character offset `position` in `text`. */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, Math.max(0, position - 1));
  const lineStart = before.lastIndexOf('\n') + 1;
  return `${before.split('\n').length}:${before.length - lineStart + 1}`;
}

/** The children of `element` with local name `name` in one of `namespaces` (any namespace when `namespaces` is undefined). */
export function childrenNamed(element: XmlElement, name: string, namespaces?: ReadonlySet<string>): XmlElement[] {
  return element.children.filter((child) => child.name === name && (namespaces === undefined || namespaces.has(child.namespace)));
}

/** The first child of `element` called `name` in one of `namespaces`, if any. */
export function childNamed(element: XmlElement, name: string, namespaces?: ReadonlySet<string>): XmlElement | undefined {
  return element.children.find((child) => child.name === name && (namespaces === undefined || namespaces.has(child.namespace)));
}

/** The value of the attribute called `name` in one of `namespaces` (`''` included to accept it unprefixed), if any. */
export function attributeValue(element: XmlElement, name: string, namespaces: ReadonlySet<string>): string | undefined {
  return element.attributes.find((attribute) => attribute.name === name && namespaces.has(attribute.namespace))?.value;
}
