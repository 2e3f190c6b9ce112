/**
 * GET /api/events: Server-Sent Events for the live page ("live update as rows are
 * added"). One stream per open page: `logbook` for each new log book row, `status` on connect
 * and every 2 s, `settings` after a save, `progress` (the "In progress" snapshot) on connect
 * and after changes, at most twice a second. SSE needs no library and reconnects by itself.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../dicom/ul/logger.js';
import { Throttle } from '../../bridge/progress/throttle.js';
import type { Supervisor } from '../../supervisor.js';
import { publicSettings } from './settings.js';
import { currentStatus } from './status.js';
import { HttpError } from '../http.js';
import type { Route } from './context.js';

/** Open pages allowed at once; each costs a socket and a status read every 2 s. */
export const MAX_EVENT_CLIENTS = 32;
const STATUS_INTERVAL_MS = 2000;
/** At most two `progress` events a second, however fast instances arrive. */
export const PROGRESS_INTERVAL_MS = 500;

/** Fans bridge events out to every open page. */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private readonly detach: Array<() => void> = [];
  /** Pushes the "In progress" snapshot after changes, throttled. */
  private readonly progress = new Throttle(PROGRESS_INTERVAL_MS, () => this.sendProgress());
  /** The last progress frame sent, so an unchanged snapshot is not sent again. */
  private lastProgressFrame = '';

  constructor(
    private readonly supervisor: Supervisor,
    private readonly version: string,
    private readonly log: Logger,
  ) {
    const onRow = (entry: unknown) => this.broadcast('logbook', entry);
    const onSettings = () => this.broadcast('settings', { settings: publicSettings(supervisor.config) });
    supervisor.on('logbook', onRow);
    supervisor.on('settings', onSettings);
    this.detach.push(() => supervisor.off('logbook', onRow), () => supervisor.off('settings', onSettings));
    const onProgress = () => this.progress.request();
    supervisor.on('progress', onProgress);
    this.detach.push(() => supervisor.off('progress', onProgress));
  }

  get size(): number {
    return this.clients.size;
  }

  /** The route: keeps the response open as an event stream. */
  readonly route: Route = ({ req, res }) => {
    if (this.clients.size >= MAX_EVENT_CLIENTS) throw new HttpError(503, 'too many open GUI pages');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    req.on('close', () => this.remove(res));
    void this.sendStatus([res]);
    this.broadcast('progress', this.supervisor.bridge.progress.snapshot(), [res]);
    this.timer ??= setInterval(() => void this.sendStatus([...this.clients]), STATUS_INTERVAL_MS);
  };

  /** Ends every stream (server shutdown or move). */
  close(): void {
    for (const off of this.detach.splice(0)) off();
    for (const res of [...this.clients]) res.end();
    this.clients.clear();
    this.stopTimer();
    this.progress.cancel();
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private broadcast(event: string, data: unknown, to: Iterable<ServerResponse> = this.clients): void {
    // JSON has no raw newlines, so one data line per event is enough.
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of to) res.write(frame);
  }

  /** Sends the snapshot to every page when it differs from the last one sent. */
  private sendProgress(): void {
    if (this.clients.size === 0) return; // the next page gets a fresh snapshot on connect
    const snapshot = this.supervisor.bridge.progress.snapshot();
    // `now` alone changes every time: compare without it.
    const frame = JSON.stringify({ ...snapshot, now: 0 });
    if (frame === this.lastProgressFrame) return;
    this.lastProgressFrame = frame;
    this.broadcast('progress', snapshot);
  }

  private async sendStatus(to: ServerResponse[]): Promise<void> {
    try {
      const status = { ...(await currentStatus(this.supervisor, this.version)), configPath: this.supervisor.configPath };
      this.broadcast('status', status, to.filter((r) => this.clients.has(r)));
    } catch (err) {
      this.log.warn({ err }, 'GUI status could not be read');
    }
  }
}
