/**
 * The durable floor's flush part (issue 13): what it costs on this disk, now, to make N files
 * of the set's sizes durable, one write and one fdatasync each, into files created ahead (their
 * names already durable). A receiver that flushes every instance before answering cannot beat
 * the fastest receiver's time plus this.
 */
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Seconds to write and fdatasync a copy of each file into `dir` (created and removed here). */
export function flushSeconds(dir: string, files: string[]): number {
  mkdirSync(dir, { recursive: true });
  try {
    const fds = files.map((_, i) => openSync(join(dir, `${i}.dcm`), 'wx'));
    const folder = openSync(dir, 'r');
    fsyncSync(folder);
    closeSync(folder);
    let seconds = 0;
    files.forEach((file, i) => {
      const bytes = readFileSync(file); // read outside the timed part: the receiver has the bytes from the network
      const started = performance.now();
      writeSync(fds[i]!, bytes);
      fdatasyncSync(fds[i]!);
      seconds += (performance.now() - started) / 1000;
      closeSync(fds[i]!);
    });
    return seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
