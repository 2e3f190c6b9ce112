/**
 * The technical log (src/log.ts, SPEC §4): lines reach the file with their ids, the level
 * filters, the file rotates at the configured size and only `keepFiles` rotated files stay.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { closeAllLoggers, closeLogger, createLogger, LOG_FILE_NAME, rotatedLogName } from '../../src/log.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

async function linesOf(path: string): Promise<Line[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
}

const ROTATED = /^dicombridge-\d{8}-\d{6}-\d{2}\.log$/;

describe('technical log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await closeAllLoggers();
    await removeDir(dir);
  });

  it('writes JSON lines with their ids to Logs/dicombridge.log, filtered by level', async () => {
    const logsDir = join(dir, 'Logs'); // created by the logger
    const log = createLogger({ level: 'info', logsDir, console: false });
    log.child({ assoc: 7 }).info({ peer: '127.0.0.1:4000' }, 'association accepted');
    log.child({ study: 'KEY~gen-1' }).warn({ zip: 'a.zip' }, 'study zipped');
    log.debug({}, 'not at info');
    await closeLogger(log);
    const lines = await linesOf(join(logsDir, LOG_FILE_NAME));
    assert.deepEqual(lines.map((l) => l.msg), ['association accepted', 'study zipped']);
    assert.equal(lines[0]!.assoc, 7);
    assert.equal(lines[0]!.peer, '127.0.0.1:4000');
    assert.equal(lines[1]!.study, 'KEY~gen-1');
    assert.equal(typeof lines[0]!.time, 'string');
  });

  it('appends to the file an earlier run left', async () => {
    await writeFile(join(dir, LOG_FILE_NAME), `${JSON.stringify({ level: 30, msg: 'earlier run' })}\n`);
    const log = createLogger({ level: 'info', logsDir: dir, console: false });
    log.info({}, 'this run');
    await closeLogger(log);
    assert.deepEqual((await linesOf(join(dir, LOG_FILE_NAME))).map((l) => l.msg), ['earlier run', 'this run']);
  });

  it('rotates at the size and keeps only keepFiles rotated files, the newest lines', async () => {
    const maxFileBytes = 2000;
    const keepFiles = 3;
    const log = createLogger({ level: 'info', logsDir: dir, console: false, maxFileBytes, keepFiles });
    const count = 400; // about 80 bytes a line: some 16 rotations
    for (let seq = 0; seq < count; seq += 1) log.info({ seq }, 'line of a known length');
    await closeLogger(log);

    const names = await readdir(dir);
    const rotated = names.filter((n) => ROTATED.test(n)).sort();
    assert.equal(rotated.length, keepFiles, `rotated files: ${rotated.join(', ')}`);
    assert.ok(names.includes(LOG_FILE_NAME));
    const lineBytes = Buffer.byteLength(`${JSON.stringify({ level: 30, time: new Date().toISOString(), seq: count, msg: 'line of a known length' })}\n`);
    for (const name of rotated) {
      const { size } = await stat(join(dir, name));
      // rotated once a write reached the size: at least the size, at most one line more
      assert.ok(size >= maxFileBytes && size < maxFileBytes + lineBytes, `${name}: ${size} bytes`);
    }
    // What is kept is the newest lines, without a gap: older files were deleted, not emptied.
    const kept: number[] = [];
    for (const name of [...rotated, LOG_FILE_NAME]) {
      const lines = await linesOf(join(dir, name));
      kept.push(...lines.map((l) => l.seq as number));
    }
    kept.sort((a, b) => a - b);
    assert.equal(kept.at(-1), count - 1);
    assert.ok(kept.length < count, 'older lines were deleted with their files');
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => count - kept.length + i));
  });

  it('names rotated files by local time and index, so they sort by age', () => {
    assert.equal(rotatedLogName(new Date(2026, 2, 26, 9, 5, 7), 3), 'dicombridge-20260326-090507-03.log');
  });

  it('after closing, lines still go nowhere harmful and closing twice is fine', async () => {
    const log = createLogger({ level: 'info', logsDir: dir, console: false });
    log.info({}, 'before');
    await closeLogger(log);
    log.info({}, 'after'); // dropped from the file, not thrown
    await closeLogger(log);
    await closeAllLoggers();
    assert.deepEqual((await linesOf(join(dir, LOG_FILE_NAME))).map((l) => l.msg), ['before']);
  });
});
