/**
 * Reads a few top-level attributes of a DICOM Part 10 file with bounded memory (PS3.10 §7,
 * PS3.5 §7): the file meta from the head of the file, then the dataset streamed through the
 * byte-preserving scanner, which skips large values (pixel data) by counting.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readFileMeta, type FileMeta } from './file-meta.js';
import { DatasetRewriter, type CapturedElement, type DatasetRewriterLimits } from './rewrite.js';

/** Result of {@link readPart10Attributes}. */
export interface Part10Attributes {
  meta: FileMeta;
  /** Raw values of the requested top-level tags that are present. */
  captured: Map<number, CapturedElement>;
}

const CHUNK_BYTES = 256 * 1024;

/**
 * Streams a Part 10 file and returns its file meta and the raw values of `captureTags` found
 * at the top level of the dataset (PS3.10 §7.1, PS3.5 §7). Rejects with DatasetDecodeError on
 * a file that is not Part 10, a transfer syntax we cannot read, or a malformed dataset.
 */
export async function readPart10Attributes(
  path: string,
  captureTags: readonly number[],
  limits?: DatasetRewriterLimits,
): Promise<Part10Attributes> {
  const meta = await readFileMeta(path);
  const rewriter = new DatasetRewriter({ transferSyntaxUid: meta.transferSyntaxUid, capture: captureTags, limits });
  const discard = new Writable({
    write(_chunk: Buffer, _encoding, callback) {
      callback();
    },
  });
  await pipeline(createReadStream(path, { start: meta.datasetOffset, highWaterMark: CHUNK_BYTES }), rewriter, discard);
  return { meta, captured: rewriter.captured };
}
