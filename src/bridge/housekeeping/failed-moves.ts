/**
 * The hook the receive and send workflows call right after moving an item into Inbox_Failed
 * or Outbox_Failed (SPEC §3): a rename keeps the item's old mtime, so the move time is written
 * to the log book database, where retention reads it. Hand-written: one call into our own log
 * book, nothing a library could add.
 */
import { basename } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import type { FailedFolder } from '../../logbook/schema.js';

/**
 * Records that `itemPath` was just moved into `folder`. Never throws: the move has happened
 * and must not be reported as failed; without a record, retention counts the item's age from
 * when it first sees it, which can only keep it longer, never delete it early.
 */
export function noteFailedMove(deps: { logBook: LogBook; log: Logger }, folder: FailedFolder, itemPath: string): void {
  try {
    deps.logBook.recordFailedMove(folder, basename(itemPath));
  } catch (err) {
    deps.log.warn({ err, item: itemPath }, `could not record when the item was moved to ${folder}; retention counts from when it first sees it`);
  }
}
