/**
 * GET /api/activity?range=24h|30d: the Activity tab's counts of studies received and ZIPs sent
 * per hour (last 24 h) or per UTC day (last 30 days), failed ones apart (SPEC §7). Every
 * bucket is present, zeros included. A missing range means 24h; any other value is a 400.
 */
import { ACTIVITY_RANGES, type ActivityRange } from '../../logbook/activity.js';
import { HttpError, sendJson } from '../http.js';
import type { Route } from './context.js';

export const getActivity: Route = ({ res, url, supervisor }) => {
  const asked = url.searchParams.get('range') ?? '24h';
  if (!(ACTIVITY_RANGES as readonly string[]).includes(asked)) throw new HttpError(400, `range must be one of ${ACTIVITY_RANGES.join(', ')}`);
  sendJson(res, 200, supervisor.bridge.logBook.activity(asked as ActivityRange));
};
