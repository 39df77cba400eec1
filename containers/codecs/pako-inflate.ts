/**
 * The part of pako that raw deflate needs: zlib's `inflate` and its stream object. Loaded
 * with a dynamic `import()` of this module (not of `pako` itself), so that a bundler can
 * tree-shake pako down to the inflater: importing pako's whole namespace dynamically would
 * keep its deflater too (44 KB minified instead of the inflater's share).
 *
 * @module
 */
export { Z_BUF_ERROR, Z_NO_FLUSH, Z_OK, Z_STREAM_END, ZStream, zlibInflate, zlibInflateInit2 } from 'pako';
