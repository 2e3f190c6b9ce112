/**
 * GET /api/status: the status strip's figures. GET /api/logbook is re-exported from
 * logbook.ts, with the Log Book's other routes.
 */
import { minFreeDiskBytes, readStatus, type BridgeStatus } from '../../bridge/status.js';
import type { Supervisor } from '../../supervisor.js';
import { sendJson } from '../http.js';
import type { Route } from './context.js';

/** Rows the Log Book tab shows (SPEC §4, §7). */
export { LOGBOOK_PAGE_MAX as LOGBOOK_ROWS } from './logbook.js';

/** The status of whichever bridge is current; the disk is low below its `minFreeDiskMegabytes`. */
export function currentStatus(supervisor: Supervisor, version: string): Promise<BridgeStatus> {
  const bridge = supervisor.bridge;
  return readStatus(bridge, version, minFreeDiskBytes(bridge.config));
}

export const getStatus: Route = async ({ res, supervisor, version }) => {
  sendJson(res, 200, { ...(await currentStatus(supervisor, version)), configPath: supervisor.configPath });
};

/** GET /api/logbook lives with the Log Book's other routes (filters, paging, CSV, retry). */
export { getLogBook } from './logbook.js';
