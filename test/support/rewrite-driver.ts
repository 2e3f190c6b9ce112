/**
 * Feeds bytes through a DatasetRewriter in chosen chunk sizes (cuts repeat; [] = one chunk),
 * for tests that must give the same result for any split of the input.
 */
import { DatasetRewriter, type DatasetRewriterOptions } from '../../src/dicom/part10/rewrite.js';

/** The rewriter's whole output and the rewriter itself (for `captured`, `rewritten`). */
export async function rewriteBytes(
  options: DatasetRewriterOptions,
  data: Buffer,
  cuts: readonly number[] = [],
): Promise<{ out: Buffer; rw: DatasetRewriter }> {
  const rw = new DatasetRewriter(options);
  const out: Buffer[] = [];
  rw.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    rw.on('end', resolve);
    rw.on('error', reject);
  });
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const size = Math.max(1, cuts.length === 0 ? data.length : (cuts[i++ % cuts.length] ?? 1));
    rw.write(data.subarray(pos, pos + size));
    pos += size;
  }
  rw.end();
  await done;
  return { out: Buffer.concat(out), rw };
}
