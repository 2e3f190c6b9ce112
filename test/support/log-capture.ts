/**
 * A pino logger that keeps every line, so a test can check what an administrator would read
 * in the technical log (a warning logged once, no error) and wait for a line to appear.
 */
import pino from 'pino';
import type { Logger } from '../../src/dicom/ul/logger.js';

/** One parsed log line (pino's JSON). */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** The logger and what it wrote. */
export interface LogCapture {
  log: Logger;
  lines(): LogLine[];
  /** Resolves once `count` lines match (at once if they already do); rejects after `timeoutMs`. */
  waitFor(match: (line: LogLine) => boolean, count?: number, timeoutMs?: number): Promise<LogLine[]>;
  /** Called synchronously with every new line (monitoring while something runs). */
  onLine(listener: (line: LogLine) => void): void;
}

/** A debug-level logger whose lines are kept; DICOMBRIDGE_TEST_LOG also prints them. */
export function captureLog(): LogCapture {
  const lines: LogLine[] = [];
  const listeners: Array<(line: LogLine) => void> = [];
  // A plain object destination is written synchronously: a line is visible as soon as the call that logs it returns.
  const destination = {
    write(text: string): void {
      if (process.env.DICOMBRIDGE_TEST_LOG) process.stderr.write(text);
      for (const part of text.split('\n')) {
        if (part === '') continue;
        const line = JSON.parse(part) as LogLine;
        lines.push(line);
        for (const listener of listeners) listener(line);
      }
    },
  };
  const log = pino({ level: 'debug' }, destination) as unknown as Logger;
  return {
    log,
    lines: () => [...lines],
    onLine: (listener) => listeners.push(listener),
    waitFor(match, count = 1, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.filter(match);
          if (found.length < count) return false;
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`expected ${count} matching log lines within ${timeoutMs} ms, got ${lines.filter(match).length}`)), timeoutMs);
        if (!check()) listeners.push(() => void check());
      });
    },
  };
}
