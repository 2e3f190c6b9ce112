/**
 * GET /api/progress: what the bridge is doing right now (the "In progress" panel), as one
 * bounded snapshot with the bridge's clock (`now`) so the page can count down in its own.
 * The same snapshot is pushed as the `progress` event (routes/events.ts).
 */
import { sendJson } from '../http.js';
import type { Route } from './context.js';

export const getProgress: Route = ({ res, supervisor }) => {
  sendJson(res, 200, supervisor.bridge.progress.snapshot());
};
