/**
 * The Activity chart's figures (SPEC §4, §7): studies received and ZIPs sent per time bucket,
 * counted by SQL over the log book's timestamp. Timestamps are stored as ISO 8601 UTC text of
 * one fixed shape (`2026-12-04T20:37:38.123Z`), so a bucket is a prefix of it (13 characters:
 * the UTC hour; 10: the UTC day), the range is a plain text comparison the timestamp index
 * serves, and GROUP BY does the counting. Buckets with no rows are filled in with zeros, so the
 * chart always has the same number of points.
 */
import type { DatabaseSync } from 'node:sqlite';

/** The two views: the last 24 hours by hour, the last 30 days by (UTC) day. */
export type ActivityRange = '24h' | '30d';
export const ACTIVITY_RANGES: readonly ActivityRange[] = ['24h', '30d'];

/**
 * One bucket. `received` and `sent` count the successful rows (a warning is a success: the ZIP
 * was published or sent); the `…Failed` counts are the failed rows, disjoint from them.
 */
export interface ActivityBucket {
  /** The bucket's start, ISO 8601 UTC (`2026-12-04T20:00:00.000Z`). */
  start: string;
  received: number;
  receivedFailed: number;
  sent: number;
  sentFailed: number;
}

/** The answer for one range: `buckets` run oldest first from `from` to `to` (exclusive). */
export interface Activity {
  range: ActivityRange;
  /** Length of each bucket: 3 600 000 (an hour) or 86 400 000 (a day). */
  bucketMs: number;
  from: string;
  to: string;
  buckets: ActivityBucket[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Bucket length, bucket count and the timestamp prefix that names a bucket, per range. */
const SHAPES: Record<ActivityRange, { bucketMs: number; count: number; prefix: number }> = {
  '24h': { bucketMs: HOUR_MS, count: 24, prefix: 13 },
  '30d': { bucketMs: DAY_MS, count: 30, prefix: 10 },
};

interface CountRow {
  bucket: string;
  received: number;
  receivedFailed: number;
  sent: number;
  sentFailed: number;
}

/** Prepares the query once; the returned function counts one range ending with the bucket of `now`. */
export function prepareActivity(db: DatabaseSync): (range: ActivityRange, now: Date) => Activity {
  // SQLite's comparisons give 0/1, so SUM counts the rows matching each condition.
  const select = db.prepare(`
    SELECT substr(timestamp, 1, @prefix) AS bucket,
      SUM(action = 'Receive' AND status <> 'Failed') AS received,
      SUM(action = 'Receive' AND status = 'Failed') AS receivedFailed,
      SUM(action = 'Send' AND status <> 'Failed') AS sent,
      SUM(action = 'Send' AND status = 'Failed') AS sentFailed
    FROM log_entry
    WHERE timestamp >= @from AND timestamp < @to AND action IN ('Receive', 'Send')
    GROUP BY bucket`);
  return (range, now) => {
    const shape = SHAPES[range];
    if (shape === undefined) throw new RangeError(`activity range must be one of ${ACTIVITY_RANGES.join(', ')}, got ${JSON.stringify(range)}`);
    // Hours and days both start at a multiple of their length since the epoch (UTC has no leap seconds in JS time).
    const toMs = Math.floor(now.getTime() / shape.bucketMs) * shape.bucketMs + shape.bucketMs;
    const fromMs = toMs - shape.count * shape.bucketMs;
    const from = new Date(fromMs).toISOString();
    const to = new Date(toMs).toISOString();
    const counted = new Map<string, CountRow>();
    for (const row of select.all({ prefix: shape.prefix, from, to }) as unknown as CountRow[]) counted.set(row.bucket, row);
    const buckets: ActivityBucket[] = [];
    for (let i = 0; i < shape.count; i += 1) {
      const start = new Date(fromMs + i * shape.bucketMs).toISOString();
      const row = counted.get(start.slice(0, shape.prefix));
      buckets.push({
        start,
        received: Number(row?.received ?? 0),
        receivedFailed: Number(row?.receivedFailed ?? 0),
        sent: Number(row?.sent ?? 0),
        sentFailed: Number(row?.sentFailed ?? 0),
      });
    }
    return { range, bucketMs: shape.bucketMs, from, to, buckets };
  };
}
