/**
 * `image-introspect/glance`: speak to OpenStack Glance. A fetch-based client (Keystone v3
 * authentication, the image API v2, range reads of stored images), an upload that reads
 * its source once and creates the image with the properties its bytes prove, and an audit
 * of what a Glance already stores.
 *
 * ```ts
 * import { GlanceClient, auditImages, uploadImage } from 'image-introspect/glance';
 * const client = await GlanceClient.connect({ authUrl, username, password, projectName });
 * const outcome = await uploadImage(client, file, { name: 'debian-12' });
 * const findings = await auditImages(client);
 * ```
 *
 * Platform-neutral: runs in browsers where Glance's (and Keystone's) CORS allow the page's
 * origin. `clouds.yaml` and `OS_*` variables are read by the command line only.
 *
 * @module
 */
export { GlanceClient, GLANCE_PATCH_MEDIA_TYPE, MAX_IMAGE_PAGES, type GlanceClientOptions, type GlanceImage, type JsonPatchOperation } from './client.js';
export { FIRST_READ_BYTES, openRangeSource, type RangeSource, type RangeSourceOptions } from './image-data.js';
export { MAX_ERROR_BODY_CHARACTERS, type FetchFunction } from './http.js';
export {
  AUTH_TYPES,
  authenticate,
  endpointFromCatalog,
  imageEndpoint,
  inferAuthType,
  type AuthType,
  type CatalogService,
  type GlanceAuthOptions,
  type GlanceSession,
} from './keystone.js';
export { DEFAULT_HOLD_BYTES, propertyPatch, uploadImage, type IncrementalHash, type UploadOptions, type UploadOutcome } from './upload.js';
export {
  DEFAULT_AUDIT_CONCURRENCY,
  MAX_AUDIT_CONCURRENCY,
  applyProposals,
  auditImages,
  auditStoredImage,
  judgeImage,
  type AuditDetected,
  type AuditEntry,
  type AuditOptions,
} from './audit.js';
export { glanceProperties, type GlancePropertiesInput, type GlancePropertiesOptions, type OvfFacts } from './properties.js';
export { GUEST_ARCH_TO_GLANCE, GUEST_DISTRO_NAMES, type GuestFacts } from './guest-properties.js';
export { INSTALLER_MEDIA, type InstallerMediaRow } from './installer-media.js';
export { GLANCE_CONTAINER_FORMATS, GLANCE_DISK_FORMATS, GLANCE_OS_DISTROS } from './vocabulary.js';
export type { GlanceContainerFormat, GlanceDiskFormat, GlanceProperties, GlancePropertyValue, OsDistroVocabulary } from './declaration.js';
