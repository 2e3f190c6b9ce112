/**
 * The technical log (SPEC §4): structured pino lines to the console and to
 * `Logs/dicombridge.log` under the storage folder. The log book (logbook/) is the
 * administrator's record; this is for diagnosis.
 */
import { join } from 'node:path';
import pino from 'pino';
import type { LogLevel } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';

/** Creates the bridge's logger; `console: false` keeps the console quiet (tests). */
export function createLogger(options: { level: LogLevel; logsDir?: string; console?: boolean }): Logger {
  const streams: pino.StreamEntry[] = [];
  // Streams pass everything; the logger's own level filters, so a saved log.level applies at once.
  if (options.console !== false) streams.push({ level: 'trace', stream: process.stdout });
  if (options.logsDir) {
    streams.push({ level: 'trace', stream: pino.destination({ dest: join(options.logsDir, 'dicombridge.log'), mkdir: true, sync: false }) });
  }
  return pino({ level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams)) as unknown as Logger;
}
