/**
 * GET /api/status and GET /api/logbook: the status strip's figures and the Log Book tab's
 * rows (SPEC §4: the last 500 actions, newest first).
 */
import { minFreeDiskBytes, readStatus, type BridgeStatus } from '../../bridge/status.js';
import type { Supervisor } from '../../supervisor.js';
import { HttpError, sendJson } from '../http.js';
import type { Route } from './context.js';

/** Rows the Log Book tab shows (SPEC §4, §7). */
export const LOGBOOK_ROWS = 500;

/** The status of whichever bridge is current; the disk is low below its `minFreeDiskMegabytes`. */
export function currentStatus(supervisor: Supervisor, version: string): Promise<BridgeStatus> {
  const bridge = supervisor.bridge;
  return readStatus(bridge, version, minFreeDiskBytes(bridge.config));
}

export const getStatus: Route = async ({ res, supervisor, version }) => {
  sendJson(res, 200, { ...(await currentStatus(supervisor, version)), configPath: supervisor.configPath });
};

export const getLogBook: Route = ({ res, url, supervisor }) => {
  const asked = url.searchParams.get('limit');
  const limit = asked === null ? LOGBOOK_ROWS : Number(asked);
  if (!Number.isInteger(limit) || limit < 0 || limit > LOGBOOK_ROWS) throw new HttpError(400, `limit must be an integer from 0 to ${LOGBOOK_ROWS}`);
  sendJson(res, 200, { entries: supervisor.bridge.logBook.latest(limit) });
};
