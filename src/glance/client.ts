/**
 * A small fetch-based client for the Glance image API v2: list (following `next`), get,
 * create, upload, patch, delete, and range reads of an image's data.
 *
 * Browser-safe (where Glance's CORS allows the origin).
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import { type RangeSource, openRangeSource } from './image-data.js';
import { type FetchFunction, send, sendJson } from './http.js';
import { type GlanceAuthOptions, type GlanceSession, authenticate } from './keystone.js';

/**
 * An image record as Glance returns it: the fields Glance defines, and every extra
 * property (`vmware_adaptertype`, `os_distro`...) as a string.
 */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  visibility: string;
  protected: boolean;
  [property: string]: unknown;
}

/** One JSON Patch operation (RFC 6902) as Glance's `PATCH /v2/images/{id}` takes it. */
export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove';
  /** `/<property>`. */
  path: string;
  value?: unknown;
}

/** Most pages of `GET /v2/images` followed: a server whose `next` links never end is cut off here. */
export const MAX_IMAGE_PAGES = 100_000;

/** The media type of Glance's JSON Patch dialect (Glance API v2, "Update image"). */
export const GLANCE_PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Options for {@link GlanceClient}. */
export interface GlanceClientOptions {
  /** The `fetch` to call; default the global one. */
  fetch?: FetchFunction;
}

/** A Glance image API v2 client. */
export class GlanceClient {
  /** The image endpoint, without a version suffix. */
  readonly endpoint: string;
  private readonly token: string | undefined;
  private readonly fetchFunction: FetchFunction;

  constructor(session: GlanceSession, options: GlanceClientOptions = {}) {
    this.endpoint = session.endpoint;
    this.token = session.token;
    this.fetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Authenticates (see {@link authenticate}) and returns a client for the image endpoint found. */
  static async connect(auth: GlanceAuthOptions, options: GlanceClientOptions = {}): Promise<GlanceClient> {
    return new GlanceClient(await authenticate(auth, options.fetch), options);
  }

  /** Every image the caller can see, page after page (`next` links followed). */
  async *listImages(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<GlanceImage> {
    let path: string | undefined = `/v2/images${options.pageSize ? `?limit=${options.pageSize}` : ''}`;
    const seen = new Set<string>();
    for (let page = 0; path !== undefined; page += 1) {
      if (page >= MAX_IMAGE_PAGES || seen.has(path)) {
        throw new IntrospectionError('SOURCE_ERROR', `${this.endpoint}/v2/images: the next links ${seen.has(path) ? 'loop' : `go on past ${MAX_IMAGE_PAGES} pages`}`);
      }
      seen.add(path);
      const { answer }: { answer: { images?: GlanceImage[]; next?: string } } = await sendJson(this.fetchFunction, {
        method: 'GET',
        url: this.url(path),
        headers: this.headers(),
        signal: options.signal,
      });
      yield* answer.images ?? [];
      path = answer.next;
    }
  }

  /** One image's record. */
  async getImage(id: string, signal?: AbortSignal): Promise<GlanceImage> {
    return (await sendJson<GlanceImage>(this.fetchFunction, { method: 'GET', url: this.imageUrl(id), headers: this.headers(), signal })).answer;
  }

  /** Creates an image record (`queued`, no data yet) with these fields and properties. */
  async createImage(properties: Record<string, unknown>, signal?: AbortSignal): Promise<GlanceImage> {
    return (await sendJson<GlanceImage>(this.fetchFunction, { method: 'POST', url: this.url('/v2/images'), headers: this.headers(), json: properties, signal, accept: [201] }))
      .answer;
  }

  /**
   * Uploads an image's data (`PUT /v2/images/{id}/file`), streaming a `ReadableStream`
   * body as it comes (Glance answers 204 once it has stored and hashed it).
   */
  async uploadImageData(id: string, body: BodyInit, signal?: AbortSignal): Promise<void> {
    const response = await send(this.fetchFunction, {
      method: 'PUT',
      url: `${this.imageUrl(id)}/file`,
      headers: { ...this.headers(), 'Content-Type': 'application/octet-stream' },
      body,
      signal,
      accept: [204],
    });
    await response.body?.cancel();
  }

  /** Changes an image's properties by JSON Patch; returns the updated record. */
  async updateImage(id: string, operations: readonly JsonPatchOperation[], signal?: AbortSignal): Promise<GlanceImage> {
    return (
      await sendJson<GlanceImage>(this.fetchFunction, {
        method: 'PATCH',
        url: this.imageUrl(id),
        headers: { ...this.headers(), 'Content-Type': GLANCE_PATCH_MEDIA_TYPE },
        json: operations,
        signal,
      })
    ).answer;
  }

  /** Deletes an image (record and data). */
  async deleteImage(id: string, signal?: AbortSignal): Promise<void> {
    const response = await send(this.fetchFunction, { method: 'DELETE', url: this.imageUrl(id), headers: this.headers(), signal, accept: [204] });
    await response.body?.cancel();
  }

  /** An image's data as a random-access source read by `Range` requests. */
  openImageData(id: string, signal?: AbortSignal): Promise<RangeSource> {
    return openRangeSource(`${this.imageUrl(id)}/file`, { headers: this.headers(), fetch: this.fetchFunction, ...(signal && { signal }) });
  }

  private headers(): Record<string, string> {
    return this.token === undefined ? {} : { 'X-Auth-Token': this.token };
  }

  private url(path: string): string {
    return `${this.endpoint}${path}`;
  }

  private imageUrl(id: string): string {
    return this.url(`/v2/images/${encodeURIComponent(id)}`);
  }
}
