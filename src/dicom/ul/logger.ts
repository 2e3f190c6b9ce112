/**
 * The logging surface the DICOM layer needs: a structural subset of pino's `Logger`, so the
 * bridge can pass its pino instance while the DICOM layer stays free of the dependency and
 * tests can pass {@link noopLogger}.
 */

/** A pino-compatible structured logger: `(context object, message)` plus child loggers. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger whose lines all carry `bindings` (association id, AE titles, peer). */
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** A logger that drops every line (tests, library use without logging). */
export const noopLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};
