/**
 * yazl computes every entry's CRC-32 with the pure-JavaScript `buffer-crc32` (about
 * 0.4 GB/s here), which it requires by name and calls as `crc32.unsigned(chunk, previous)`.
 * Node's `zlib.crc32` (native, about 5 GB/s here) gives the same values, so this module points
 * that one function of yazl's own copy at it. Imported for its effect by the zipper; if a yazl
 * release stops using buffer-crc32 the patch simply does nothing.
 */
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

const requireFromYazl = createRequire(createRequire(import.meta.url).resolve('yazl'));
const bufferCrc32 = requireFromYazl('buffer-crc32') as { unsigned: (buf: Buffer, previous?: number) => number };
bufferCrc32.unsigned = (buf: Buffer, previous?: number) => crc32(buf, previous ?? 0);
