/**
 * What every API route gets: the request, the response, the parsed URL and the running
 * bridge's supervisor, plus the GUI server's own hooks for the routes that need them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { Supervisor } from '../../supervisor.js';

/** The GUI server's part of a settings change: its own address and scheme (HTTP or HTTPS). */
export interface GuiRebind {
  /**
   * Listens on the new address too (or, same address, prepares the switch of scheme); throws
   * ConfigError naming gui.host/gui.port, or gui.tls.* when the certificate is unusable.
   */
  prepare(gui: Config['gui']): Promise<{ url: string; commit(): void; cancel(): Promise<void> }>;
  /** The URL the GUI is reached at now. */
  readonly url: string;
  /** Re-reads the GUI's certificate (a Save keeping the same gui.tls files: they may have been renewed). */
  reload?(): Promise<void>;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  supervisor: Supervisor;
  version: string;
  log: Logger;
  gui: GuiRebind;
}

/** A route handler; a throw becomes a 500 (or the HttpError's status) with its message. */
export type Route = (ctx: RouteContext) => Promise<void> | void;
