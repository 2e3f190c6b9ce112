/**
 * Deflates several ZIP entries at once and writes them in order. One deflate stream uses one
 * core; zlib's asynchronous calls run on libuv's thread pool, so entries deflated side by side
 * use every core while the main thread reads, checks and writes. The entry at the head of the
 * order is written as it is deflated; the ones behind it wait in memory, under a fixed budget
 * reserved before an entry starts, so memory stays bounded whatever the study:
 * - a small entry (at most {@link SMALL_ENTRY_BYTES}) is read whole and deflated in one call;
 *   it reserves twice its size plus zlib's state;
 * - a larger one is streamed; it reserves a fixed amount and pauses when that much deflated
 *   output waits, until it reaches the head. A 300 MB instance is never held whole.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, deflateRaw, deflateRawSync, type ZlibOptions } from 'node:zlib';
import type { FileSink } from './file-sink.js';
import type { ZipContainer } from './zip-container.js';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

/** Entries up to this size are read whole and deflated in one call. */
export const SMALL_ENTRY_BYTES = 1024 * 1024;
/** Entries deflated on the main thread: a few tens of microseconds each. */
const TINY_ENTRY_BYTES = 16 * 1024;
/** zlib's deflate state at the default memLevel 8 and 32 KiB window, plus slack. */
const ZLIB_STATE_BYTES = 320 * 1024;
/** Deflated output a streamed entry may hold while it waits for its turn. */
const STREAM_WAITING_BYTES = 4 * 1024 * 1024;
/** Read chunk, rewriter hold-back (1 MiB) and zlib state of a streamed entry. */
const STREAM_WORKING_BYTES = 2 * 1024 * 1024;
const STREAM_CHUNK_BYTES = 256 * 1024;

/** One entry to write. */
export interface DeflateEntry {
  name: string;
  /** Size of the file behind it: chooses whole or streamed, and the memory to reserve. */
  sizeHint: number;
  /** The entry's bytes at once (entries of at most {@link SMALL_ENTRY_BYTES}). */
  readWhole(): Promise<Buffer[]>;
  /** The entry's bytes as chunks; stops when `signal` aborts. */
  stream(signal: AbortSignal): AsyncIterable<Buffer>;
}

/** Options of {@link writeEntriesInOrder}. */
export interface OrderedDeflateOptions {
  /** Deflate level 1–9; 0 stores the entries. */
  level: number;
  /** Memory that entries in flight may reserve (one entry always runs, whatever its need). */
  budgetBytes: number;
  /** Most entries in flight at once. */
  maxInFlight: number;
  /** Called after entry `index` is written, in order. */
  onWritten?(index: number): void;
}

/** The deflated bytes of one entry, as they come, and its sums. */
class Slot {
  readonly chunks: Buffer[] = [];
  waiting = 0;
  crc32 = 0;
  size = 0;
  compressedSize = 0;
  /** Set once the entry is at the head: chunks go straight to the file. */
  live: ((chunk: Buffer) => Promise<void>) | undefined;
  /** A paused stream's write callback, called when the slot reaches the head. */
  resume: (() => void) | undefined;
  settled!: Promise<void>;

  constructor(readonly reserved: number) {}

  take(chunk: Buffer): void {
    this.crc32 = crc32(chunk, this.crc32);
    this.size += chunk.length;
  }
}

function reservation(entry: DeflateEntry): number {
  return entry.sizeHint <= SMALL_ENTRY_BYTES ? 2 * entry.sizeHint + ZLIB_STATE_BYTES : STREAM_WORKING_BYTES + STREAM_WAITING_BYTES;
}

/**
 * For a small input the window and the block buffer need not be larger than the input:
 * the same matches are found, and zlib allocates kilobytes instead of a quarter megabyte
 * per entry (10,000 tiny instances otherwise spend a third of their time collecting it).
 */
function zlibOptionsFor(size: number, level: number): ZlibOptions {
  const bits = Math.max(9, Math.min(15, Math.ceil(Math.log2(Math.max(size, 1)))));
  // One output buffer that fits the worst case (stored blocks): one thread-pool call, no copy.
  const chunkSize = Math.max(64, size + (size >>> 10) + 1024);
  return { level, windowBits: bits, memLevel: Math.max(1, Math.min(8, bits - 6)), chunkSize };
}

async function deflateWhole(entry: DeflateEntry, slot: Slot, level: number): Promise<void> {
  const parts = await entry.readWhole();
  for (const part of parts) slot.take(part);
  const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts, slot.size);
  // A tiny entry costs less to deflate here than to hand to the pool and back.
  const out = level === 0 ? raw : raw.length <= TINY_ENTRY_BYTES ? deflateRawSync(raw, zlibOptionsFor(raw.length, level)) : await deflateRawAsync(raw, zlibOptionsFor(raw.length, level));
  slot.compressedSize = out.length;
  slot.chunks.push(out);
}

async function deflateStream(entry: DeflateEntry, slot: Slot, level: number, signal: AbortSignal): Promise<void> {
  const collect = new Writable({
    highWaterMark: STREAM_CHUNK_BYTES,
    write(chunk: Buffer, _encoding, callback) {
      slot.compressedSize += chunk.length;
      if (slot.live) {
        slot.live(chunk).then(() => callback(), callback);
        return;
      }
      slot.chunks.push(chunk);
      slot.waiting += chunk.length;
      if (slot.waiting >= STREAM_WAITING_BYTES) slot.resume = () => callback();
      else callback();
    },
  });
  async function* measured(source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      slot.take(chunk);
      yield chunk;
    }
  }
  if (level === 0) await pipeline(entry.stream(signal), measured, collect, { signal });
  else await pipeline(entry.stream(signal), measured, createDeflateRaw({ level, chunkSize: STREAM_CHUNK_BYTES }), collect, { signal });
}

/**
 * Writes `entries` into `zip` in their order, deflating up to `maxInFlight` of them at once
 * within `budgetBytes`. Rejects with the first failure (read, parse, deflate or write) once
 * every started entry has stopped, so no file descriptor stays open.
 */
export async function writeEntriesInOrder(zip: ZipContainer, sink: FileSink, entries: readonly DeflateEntry[], options: OrderedDeflateOptions): Promise<void> {
  const abort = new AbortController();
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    abort.abort(err);
  };
  const slots = new Map<number, Slot>();
  let reserved = 0;
  let next = 0;

  const start = (index: number) => {
    const entry = entries[index]!;
    const slot = new Slot(reservation(entry));
    reserved += slot.reserved;
    const work = entry.sizeHint <= SMALL_ENTRY_BYTES ? deflateWhole(entry, slot, options.level) : deflateStream(entry, slot, options.level, abort.signal);
    slot.settled = work.then(() => undefined, fail);
    slots.set(index, slot);
  };

  try {
    for (let head = 0; head < entries.length && !failure; head += 1) {
      while (next < entries.length && next - head < options.maxInFlight && (next === head || reserved + reservation(entries[next]!) <= options.budgetBytes)) {
        start(next);
        next += 1;
      }
      const slot = slots.get(head)!;
      const record = await zip.beginEntry(entries[head]!.name, options.level === 0 ? 0 : 8);
      // Drain what waits, then let the entry write straight through; the drain loop ends on
      // an empty queue, and `live` is set before anything else runs.
      while (slot.chunks.length > 0 && !failure) await sink.write(slot.chunks.shift()!);
      slot.live = (chunk) => sink.write(chunk);
      slot.resume?.();
      await slot.settled;
      if (failure) break;
      while (slot.chunks.length > 0) await sink.write(slot.chunks.shift()!);
      await zip.endEntry(record, { crc32: slot.crc32, compressedSize: slot.compressedSize, uncompressedSize: slot.size });
      reserved -= slot.reserved;
      slots.delete(head);
      options.onWritten?.(head);
    }
  } catch (err) {
    fail(err as Error);
  }
  if (failure) {
    await Promise.all([...slots.values()].map((slot) => slot.settled));
    throw failure;
  }
}
