/**
 * The bytes of one study ZIP entry (SPEC §1): the staged Part 10 file with the CRYPE IDs cut
 * out of the configured element (DatasetRewriter: every other byte is copied). Only an
 * instance that holds IDs is rewritten; every other one goes in byte for byte, also when
 * deflated (a rewrite would deflate it anew), so a deflated instance is checked first.
 *
 * Entries are read in parallel, so what each one finds (file meta, captured attributes, ID
 * text) is kept here and merged by the zipper in entry order, as if read one after the other.
 */
import { createReadStream, readFile } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { parseFileMeta, readFileMeta, type FileMeta } from '../../dicom/part10/file-meta.js';
import { PREAMBLE_LENGTH } from '../receive/commit-record.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import type { CridExtraction } from '../crid/extract.js';
import { STUDY_FIELD_TAGS } from '../study-fields.js';
import { cridRewrite } from './crid-rewrite.js';

const READ_CHUNK_BYTES = 256 * 1024;
/** The callback form: open, read and close in one request, lighter than a FileHandle per tiny file. */
const readFileAsync = promisify(readFile);

/** One staged instance as a ZIP entry, and what reading it found. */
export class StagedEntry {
  meta: FileMeta | undefined;
  captured: Map<number, CapturedElement> | undefined;
  /** Each CRYPE ID text seen (normally one). */
  readonly found: CridExtraction[] = [];

  constructor(readonly path: string, readonly fileName: string, private readonly cridTag: number | null) {}

  /** The whole entry in memory: for small files only (the caller bounds the size). */
  async readWhole(): Promise<Buffer[]> {
    const file = await readFileAsync(this.path);
    const meta = parseFileMeta(file, true)!;
    file.fill(0, 0, PREAMBLE_LENGTH); // the receiver's commit record (commit-record.ts): the ZIP gets zeros
    this.meta = meta;
    const dataset = file.subarray(meta.datasetOffset);
    let strip = this.cridTag !== null;
    if (strip && transferSyntaxInfo(meta.transferSyntaxUid)?.deflated === true) {
      const check = this.checker(meta);
      await runOver(check, dataset);
      strip = check.rewritten;
    }
    const rewriter = this.rewriter(meta, strip);
    const out = await runOver(rewriter, dataset);
    this.captured = rewriter.captured;
    // Unchanged output is the input, byte for byte: hand over the file, not a copy of it.
    return rewriter.rewritten && strip ? [file.subarray(0, meta.datasetOffset), ...out] : [file];
  }

  /** The entry as a stream of chunks: for files of any size, the file is never held whole. */
  async *stream(signal: AbortSignal): AsyncGenerator<Buffer> {
    const meta = await readFileMeta(this.path);
    this.meta = meta;
    let strip = this.cridTag !== null;
    if (strip && transferSyntaxInfo(meta.transferSyntaxUid)?.deflated === true) {
      const check = this.checker(meta);
      const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      await pipeline(this.datasetStream(meta, signal), check, discard, { signal });
      strip = check.rewritten;
    }
    const rewriter = this.rewriter(meta, strip);
    signal.throwIfAborted();
    yield Buffer.alloc(PREAMBLE_LENGTH); // the receiver's commit record (commit-record.ts): the ZIP gets zeros
    yield* createReadStream(this.path, { start: PREAMBLE_LENGTH, end: meta.datasetOffset - 1, signal });
    const dataset = this.datasetStream(meta, signal);
    // Whichever side fails first (or an abort), the other is destroyed too, so no descriptor
    // stays open and no error goes unhandled.
    dataset.on('error', (err) => rewriter.destroy(err));
    rewriter.on('close', () => dataset.destroy());
    yield* dataset.pipe(rewriter);
    this.captured = rewriter.captured;
  }

  /** Drops what was found once the zipper has merged it (10,000 entries must not pin their files). */
  release(): void {
    this.meta = undefined;
    this.captured = undefined;
    this.found.length = 0;
  }

  private datasetStream(meta: FileMeta, signal: AbortSignal) {
    // A file stream made with a signal that is already aborted closes before its file is
    // open, and the descriptor opened after that stays open (seen on Node 24.21): never make one.
    signal.throwIfAborted();
    return createReadStream(this.path, { start: meta.datasetOffset, highWaterMark: READ_CHUNK_BYTES, signal });
  }

  /** A dry run of the ID edit: does the dataset hold IDs to cut? */
  private checker(meta: FileMeta): DatasetRewriter {
    return new DatasetRewriter({ transferSyntaxUid: meta.transferSyntaxUid, capture: [], rewrite: cridRewrite(this.cridTag!, { dryRun: true }) });
  }

  private rewriter(meta: FileMeta, strip: boolean): DatasetRewriter {
    return new DatasetRewriter({
      transferSyntaxUid: meta.transferSyntaxUid,
      capture: STUDY_FIELD_TAGS,
      rewrite: this.cridTag === null ? undefined : cridRewrite(this.cridTag, { dryRun: !strip, onValue: (found) => this.found.push(found) }),
    });
  }
}

/**
 * Top-level values of a small staged file, read whole in one request (readPart10Attributes
 * streams in 256 KiB reads, which for 10,000 tiny files is gigabytes of buffers to collect).
 */
export async function readSmallAttributes(path: string, tags: readonly number[]): Promise<Map<number, CapturedElement>> {
  const file = await readFileAsync(path);
  const meta = parseFileMeta(file, true)!;
  const capture = new DatasetRewriter({ transferSyntaxUid: meta.transferSyntaxUid, capture: tags });
  await runOver(capture, file.subarray(meta.datasetOffset));
  return capture.captured;
}

/** Runs `rewriter` over one buffer; resolves with its output chunks. */
function runOver(rewriter: DatasetRewriter, input: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    rewriter.on('data', (chunk: Buffer) => out.push(chunk));
    rewriter.once('error', reject);
    rewriter.once('end', () => resolve(out));
    rewriter.end(input);
  });
}
