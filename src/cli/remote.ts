/**
 * The command line's remote images and backing chains: what the batch (`batch.ts`) calls for an
 * `http://` or `https://` argument, `--header` and `--backing-chain`.
 *
 * A URL on the command line is the user's own: it is fetched with the permissive URL
 * filter (any host, port and address, over http or https), as curl would. A service that
 * fetches URLs its users give keeps the default filter (see `docs/remote.md`).
 *
 * Node only.
 *
 * @module
 */
import type { BuiltinFormat } from '../../formats/index.js';
import { IntrospectionError } from '../errors.js';
import { type ImageInfo, type IntrospectOptions, introspect } from '../index.js';
import { introspectUrl } from '../node.js';
import type { UrlIntrospectOptions } from '../remote/introspect-url.js';

/** True for an argument the CLI reads as a URL rather than a path. */
export function isUrlArgument(argument: string): boolean {
  return /^https?:\/\//i.test(argument);
}

/** A `--header 'Name: value'` argument as a name and value, or why it is not one. */
export function parseHeaderArgument(text: string): { name: string; value: string } | { error: string } {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (name === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return { error: `--header needs "Name: value", not ${JSON.stringify(text)}` };
  return { name, value: text.slice(colon + 1).trim() };
}

/** Introspects a URL given on the command line (the permissive filter: the user's own URL). */
export function introspectUrlArgument(url: string, options: UrlIntrospectOptions<BuiltinFormat>): Promise<ImageInfo> {
  return introspectUrl(url, { urlFilter: 'permissive', ...options });
}

/**
 * Introspects standard input (`-`) as a stream. Empty input is an error rather than an
 * empty raw disk: it is what `curl --fail URL | image-introspect -` gives on an HTTP error
 * (curl prints nothing), and the pipeline's status is this command's.
 */
export async function introspectStandardInput(options: IntrospectOptions<BuiltinFormat>): Promise<ImageInfo> {
  const info = await introspect(process.stdin, options);
  if (info.bytesRead === 0) throw new IntrospectionError('SOURCE_ERROR', 'standard input was empty (did the command before the pipe fail? curl --fail prints nothing on an HTTP error)');
  return info;
}

/**
 * The images `--backing-chain` prints, the image first and then its backing images, each
 * with its `filename` (as `qemu-img info --backing-chain` lists them).
 */
export function chainOf(filename: string, info: ImageInfo): Array<ImageInfo & { filename: string }> {
  const { backingChain, ...top } = info;
  // The chain's entries are results of the same built-in formats.
  const entries = (backingChain ?? []) as ImageInfo[];
  return [{ ...top, filename } as ImageInfo & { filename: string }, ...entries.map((entry) => ({ ...entry, filename: entry.filename ?? '' }))];
}
