/**
 * The technical log (SPEC §4): structured pino lines (one JSON object a line) to the console
 * and to `Logs/dicombridge.log` under the storage folder, rotated by size. The log book
 * (logbook/) is the administrator's record; this is for diagnosis.
 *
 * Why `rotating-file-stream` (3.2.x) rather than `pino-roll`: both are maintained and run on
 * Node 20, and neither has install scripts or downloads. rotating-file-stream has no
 * dependencies at all and is a plain `Writable` on the main thread, so it joins
 * `pino.multistream` beside stdout, the logger's own level keeps filtering both (a saved
 * `log.level` applies at once), and shutdown flushes and closes it with an ordinary `end()`
 * that resolves after any rotation in progress. pino-roll is a worker-thread transport
 * (date-fns, sonic-boom) whose flush at exit goes through the worker, which is more moving
 * parts for a service that must never lose its last lines. Rotation and pruning are the
 * library's; this module only names the files and bounds them by the settings.
 *
 * Files: `dicombridge.log` is the current one; a full one is renamed
 * `dicombridge-YYYYMMDD-HHMMSS-NN.log` (local time of the rotation, so names sort by age);
 * at most `log.keepFiles` rotated files are kept, the oldest are deleted. The library keeps its
 * list of rotated files in `dicombridge.log.txt` beside them.
 *
 * The console gets the same JSON lines, except in the foreground on a terminal, where the CLI
 * sets a readable destination with {@link setConsoleDestination} (src/cli/console-pretty.ts);
 * the file always keeps the JSON lines.
 *
 * Traceability ids carried by the lines: `assoc` (every line of one DICOM association, from
 * the upper layer and DIMSE), `study` (the staging folder name, `<study key>~<generation>`,
 * on every line of one study's completion), `zip` (every line of one Outbox ZIP being sent),
 * and `component` (receiver, outbox, retention, gui).
 */
import { sep } from 'node:path';
import pino from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { LogLevel } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';

/** The current technical log file's name in the logs folder. */
export const LOG_FILE_NAME = 'dicombridge.log';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  /** Folder of the log files (created if missing); without it the log goes to the console only. */
  logsDir?: string;
  /** `false` keeps the console quiet (tests). */
  console?: boolean;
  /** Rotate the file once it reaches this size (`log.maxFileMegabytes`; default 10 MiB). */
  maxFileBytes?: number;
  /** Rotated files kept (`log.keepFiles`; default 10). */
  keepFiles?: number;
}

const MIB = 1024 * 1024;

/** The file side of a logger: flushed and closed by {@link closeLogger}. */
interface FileSink {
  close(): Promise<void>;
}

/** Where console lines go: stdout as JSON unless the CLI chose otherwise (one console per process). */
let consoleDestination: { write(line: string): void } = process.stdout;

/**
 * Sends the console side of every logger created from now on to `destination` (a main-thread
 * stream: the single executable cannot start pino's worker transports). The CLI calls it once,
 * before the bridge starts; loggers made earlier keep theirs.
 */
export function setConsoleDestination(destination: { write(line: string): void }): void {
  consoleDestination = destination;
}

/** File sinks by root logger, and every sink still open (for {@link closeAllLoggers}). */
const sinks = new WeakMap<object, FileSink>();
const openSinks = new Set<FileSink>();

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `dicombridge-20260326-101700-01.log` for a rotation at that time (the index avoids clashes). */
export function rotatedLogName(time: Date, index: number): string {
  const day = `${time.getFullYear()}${pad(time.getMonth() + 1)}${pad(time.getDate())}`;
  const clock = `${pad(time.getHours())}${pad(time.getMinutes())}${pad(time.getSeconds())}`;
  return `dicombridge-${day}-${clock}-${pad(index)}.log`;
}

/**
 * Opens the rotating file. Lines written after close, or after the file failed (disk full,
 * folder gone), are dropped from the file, never thrown at the caller: the console still has
 * them, and a logging failure must not stop the bridge.
 */
function openFileSink(logsDir: string, maxFileBytes: number, keepFiles: number): { stream: { write(line: string): void }; sink: FileSink } {
  const file: RotatingFileStream = createStream(
    (time: number | Date | null, index?: number) => (time === null ? LOG_FILE_NAME : rotatedLogName(new Date(time), index ?? 1)),
    { path: logsDir.endsWith(sep) ? logsDir : logsDir + sep, size: `${Math.max(1, Math.floor(maxFileBytes))}B`, maxFiles: keepFiles },
  );
  let usable = true;
  file.on('error', (err: Error) => {
    if (usable) process.stderr.write(`dicombridge: the technical log file stopped (${err.message}); logging to the console only\n`);
    usable = false;
  });
  file.on('warning', (err: Error) => process.stderr.write(`dicombridge: technical log rotation: ${err.message}\n`));
  let closing: Promise<void> | undefined;
  const sink: FileSink = {
    close() {
      closing ??= new Promise<void>((resolve) => {
        openSinks.delete(sink);
        if (!usable || file.destroyed) {
          usable = false;
          resolve();
          return;
        }
        usable = false;
        // 'finish' comes after every queued line is written and any rotation has ended; an
        // error (reported above) also ends the wait.
        file.once('error', () => resolve());
        file.end(() => resolve());
      });
      return closing;
    },
  };
  openSinks.add(sink);
  return {
    stream: {
      write(line: string) {
        if (usable) file.write(line);
      },
    },
    sink,
  };
}

/** Creates the bridge's logger: console and/or a rotating file under `logsDir`. */
export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  // Streams pass everything; the logger's own level filters, so a saved log.level applies at once.
  if (options.console !== false) streams.push({ level: 'trace', stream: consoleDestination });
  let sink: FileSink | undefined;
  if (options.logsDir) {
    const opened = openFileSink(options.logsDir, options.maxFileBytes ?? 10 * MIB, options.keepFiles ?? 10);
    streams.push({ level: 'trace', stream: opened.stream });
    sink = opened.sink;
  }
  const logger = pino({ level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams));
  if (sink) sinks.set(logger, sink);
  return logger as unknown as Logger;
}

/**
 * Flushes and closes the log file of a logger made by {@link createLogger} (shutdown). Later
 * lines still reach the console. Resolves at once for other loggers; safe to call twice.
 */
export function closeLogger(log: Logger): Promise<void> {
  return sinks.get(log)?.close() ?? Promise.resolve();
}

/** Flushes and closes every log file still open in this process (the end of a run). */
export async function closeAllLoggers(): Promise<void> {
  await Promise.all([...openSinks].map((sink) => sink.close()));
}
