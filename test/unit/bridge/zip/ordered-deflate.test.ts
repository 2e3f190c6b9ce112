/**
 * Entries deflated side by side and written in order (ordered-deflate.ts) into our ZIP
 * container (zip-container.ts): whatever the entry count, the sizes (empty, small, streamed,
 * larger than the memory budget), the level and the budget, yauzl and Info-ZIP read every
 * entry back byte for byte, in order; a failure at any entry rejects with that failure and
 * leaves no file descriptor open. ZIP64 records, forced, are read the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { FileSink } from '../../../../src/bridge/zip/file-sink.js';
import { SMALL_ENTRY_BYTES, writeEntriesInOrder, type DeflateEntry } from '../../../../src/bridge/zip/ordered-deflate.js';
import { ZipContainer } from '../../../../src/bridge/zip/zip-container.js';
import { readZip, removeDir, tempDir } from '../../../support/bridge-harness.js';

/** Deterministic content: a compressible ramp or incompressible noise. */
function content(size: number, seed: number, noisy: boolean): Buffer {
  const buf = Buffer.alloc(size);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i += 1) {
    state = (state * 1664525 + 1013904223) >>> 0;
    buf[i] = noisy ? state >>> 24 : (i >> 4) & 0xff;
  }
  return buf;
}

class InjectedError extends Error {}

function entryOf(name: string, data: Buffer, fail: 'none' | 'open' | 'midway'): DeflateEntry {
  return {
    name,
    sizeHint: data.length,
    readWhole: async () => {
      if (fail !== 'none') throw new InjectedError(`cannot read ${name}`);
      // Two parts, as the study zipper hands over meta and rewritten dataset.
      return [data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)];
    },
    stream: async function* () {
      if (fail === 'open') throw new InjectedError(`cannot open ${name}`);
      for (let at = 0; at < data.length; at += 100_000) {
        if (fail === 'midway' && at > 0) throw new InjectedError(`cannot read ${name}`);
        yield data.subarray(at, at + 100_000);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

async function writeZip(path: string, entries: DeflateEntry[], options: { level: number; budgetBytes: number; maxInFlight: number; forceZip64?: boolean }): Promise<number[]> {
  const handle = await open(path, 'wx');
  const written: number[] = [];
  try {
    const sink = new FileSink(handle);
    const zip = new ZipContainer(sink, { mtime: new Date(2026, 11, 5, 10, 30, 0), forceZip64: options.forceZip64 });
    await writeEntriesInOrder(zip, sink, entries, { ...options, onWritten: (i) => written.push(i) });
    await zip.finish();
  } finally {
    await handle.close();
  }
  return written;
}

function unzipTest(path: string): void {
  const result = spawnSync('unzip', ['-tq', path], { encoding: 'utf8' });
  assert.equal(result.status, 0, `unzip -t: ${result.stdout}${result.stderr}`);
}

const openDescriptors = async () => (await readdir('/proc/self/fd')).length;

/**
 * The open descriptor count once it is back to `expected`, or after 2 s what it is then: a
 * test-side handle (yauzl's, the unzip child's pipes) may close a turn after the zipper has
 * rejected on a busy machine; a leaked descriptor stays and fails the check.
 */
async function descriptorsSettle(expected: number): Promise<number> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const count = await openDescriptors();
    if (count === expected || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 20)); // polling interval of a bounded wait
  }
}

describe('writeEntriesInOrder', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await tempDir();
  });
  after(async () => {
    await removeDir(root);
  });

  test('any entries, sizes, level and budget: read back byte for byte, in order, by yauzl and unzip -t; a failure at any entry rejects with it', async () => {
    const sizes = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: SMALL_ENTRY_BYTES - 10, max: SMALL_ENTRY_BYTES + 10 }), fc.integer({ min: SMALL_ENTRY_BYTES + 1, max: 3 * SMALL_ENTRY_BYTES }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: sizes, noisy: fc.boolean() }), { minLength: 0, maxLength: 12 }),
        fc.constantFrom(0, 1, 6),
        fc.constantFrom(64 * 1024, 2 * 1024 * 1024, 32 * 1024 * 1024),
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.record({ at: fc.nat(), how: fc.constantFrom('open' as const, 'midway' as const) }), { nil: undefined }),
        async (specs, level, budgetBytes, maxInFlight, failure) => {
          const datas = specs.map((spec, i) => content(spec.size, i + 1, spec.noisy));
          const failAt = failure && specs.length > 0 ? failure.at % specs.length : -1;
          const entries = datas.map((data, i) => entryOf(`S001_OT/I${String(i + 1).padStart(5, '0')}.dcm`, data, i === failAt ? failure!.how : 'none'));
          const path = join(root, `p${(n += 1)}.zip`);
          const fds = await openDescriptors();
          if (failAt >= 0) {
            // "midway" only fails a streamed entry; a small one read whole fails on reading.
            await assert.rejects(writeZip(path, entries, { level, budgetBytes, maxInFlight }), InjectedError);
            assert.equal(await descriptorsSettle(fds), fds, 'a descriptor stays open after the failure');
            return;
          }
          const written = await writeZip(path, entries, { level, budgetBytes, maxInFlight });
          assert.deepEqual(written, datas.map((_, i) => i));
          if (entries.length > 0) unzipTest(path); // Info-ZIP calls an empty ZIP a warning
          const back = await readZip(path);
          assert.deepEqual([...back.keys()], entries.map((e) => e.name));
          datas.forEach((data, i) => assert.ok(back.get(entries[i]!.name)!.equals(data), `entry ${i} differs`));
        },
      ),
      { numRuns: 25 },
    );
  });

  test('ZIP64 records when forced: read back by yauzl and unzip -t, with the ZIP64 end records in place', async () => {
    const datas = [content(0, 1, false), content(3000, 2, true), content(SMALL_ENTRY_BYTES + 5000, 3, false)];
    const entries = datas.map((data, i) => entryOf(`S001_CT/I${String(i + 1).padStart(5, '0')}.dcm`, data, 'none'));
    const path = join(root, 'zip64.zip');
    await writeZip(path, entries, { level: 1, budgetBytes: 32 * 1024 * 1024, maxInFlight: 4, forceZip64: true });
    unzipTest(path);
    const back = await readZip(path);
    datas.forEach((data, i) => assert.ok(back.get(entries[i]!.name)!.equals(data)));
    const bytes = await readFile(path);
    const end = bytes.subarray(bytes.length - 22);
    assert.equal(end.readUInt32LE(0), 0x06054b50);
    assert.equal(end.readUInt16LE(10), 0xffff, 'entry count deferred to the ZIP64 record');
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'ZIP64 end of central directory locator');
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20 - 56), 0x06064b50, 'ZIP64 end of central directory record');
  });
});
