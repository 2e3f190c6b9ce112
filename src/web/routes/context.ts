/**
 * What every API route gets: the request, the response, the parsed URL and the running
 * bridge's supervisor, plus the GUI server's own hooks for the routes that need them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { Supervisor } from '../../supervisor.js';

/** The GUI server's part of a settings change: its own address. */
export interface GuiRebind {
  /** Listens on the new address too; throws ConfigError naming gui.host/gui.port if it cannot. */
  prepare(gui: Config['gui']): Promise<{ url: string; commit(): void; cancel(): Promise<void> }>;
  /** The URL the GUI is reached at now. */
  readonly url: string;
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
