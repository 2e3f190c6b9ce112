/**
 * Sending a failed item through again, as the administrator asks in the GUI (SPEC §3: the
 * failed folders hold what needs a person): an Outbox_Failed ZIP goes back into Outbox_Auto,
 * where the watcher picks it up like any dropped ZIP; an Inbox_Failed study folder goes back
 * into staging and through the same completion as a study just received (a ZIP in its inbox,
 * or back to Inbox_Failed with the new reason). Nothing is overwritten, and the item's failed
 * record is dropped, so its retention clock starts again only if it fails again.
 *
 * The name comes from a browser: it must be one plain path component naming an item that is
 * really in the failed folder (a regular file or a folder, never a link).
 */
import { lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import type { FailedFolder } from '../../logbook/schema.js';
import { durableRename, fsyncDir } from '../durable-fs.js';
import { publishZip } from '../publish-zip.js';
import type { StorageLayout } from '../storage-layout.js';
import { StudyTracker, type StagedStudy } from '../study/tracker.js';

/** Which failed folder: `outbox` = Outbox_Failed (a ZIP), `inbox` = Inbox_Failed (a study folder). */
export type RetryKind = 'outbox' | 'inbox';
export const RETRY_KINDS: readonly RetryKind[] = ['outbox', 'inbox'];

/** Longest item name accepted (common file systems allow 255 bytes). */
const NAME_MAX = 255;

/** Why a retry was refused: a bad name, or no such item. */
export class RetryError extends Error {
  constructor(
    readonly code: 'ERR_RETRY_NAME' | 'ERR_RETRY_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'RetryError';
  }
}

/** What a retry needs of the bridge. */
export interface RetryDeps {
  layout: StorageLayout;
  logBook: LogBook;
  log: Logger;
  /** The study completion's queue (zip, name, publish, log book). */
  enqueueStudy(study: StagedStudy): Promise<void>;
}

/** Where the item went. */
export interface RetryResult {
  kind: RetryKind;
  /** The name it was retried under (a ZIP may get "name (2).zip" if Outbox_Auto has one). */
  name: string;
  /** `Outbox_Auto` or `staging` (being zipped). */
  movedTo: 'Outbox_Auto' | 'staging';
}

/** Throws RetryError unless `name` is one plain path component. */
export function checkItemName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.length > NAME_MAX || /[\\/\0]/.test(name) || name.startsWith('.')) {
    throw new RetryError('ERR_RETRY_NAME', 'name must be the name of one item in the failed folder');
  }
  return name;
}

/** Moves the item back for another attempt and writes the log book row. */
export async function retryFailedItem(deps: RetryDeps, kind: RetryKind, rawName: unknown): Promise<RetryResult> {
  const name = checkItemName(rawName);
  return kind === 'outbox' ? retryOutbox(deps, name) : retryInbox(deps, name);
}

async function existing(path: string, want: 'file' | 'dir', folder: FailedFolder, name: string): Promise<void> {
  const stats = await lstat(path).catch(() => null);
  const ok = stats !== null && (want === 'file' ? stats.isFile() : stats.isDirectory());
  if (!ok) throw new RetryError('ERR_RETRY_NOT_FOUND', `${folder} has no ${want === 'file' ? 'ZIP' : 'study folder'} named ${JSON.stringify(name)}`);
}

async function retryOutbox(deps: RetryDeps, name: string): Promise<RetryResult> {
  const { layout, logBook } = deps;
  const from = join(layout.outboxFailed, name);
  await existing(from, 'file', 'Outbox_Failed', name);
  if (!/\.zip$/i.test(name)) throw new RetryError('ERR_RETRY_NOT_FOUND', `Outbox_Failed has no ZIP named ${JSON.stringify(name)}`);
  // Back under its name, or a free copy name: nothing in Outbox_Auto is ever overwritten.
  const published = await publishZip(from, layout.outboxAuto, name, { fsync: true });
  if (published.cleanupError) deps.log.error({ err: published.cleanupError, zip: name }, 'the ZIP is back in Outbox_Auto, but its Outbox_Failed copy could not be removed');
  const placed = basename(published.path);
  await fsyncDir(layout.outboxFailed);
  forget(deps, 'Outbox_Failed', name);
  deps.log.info({ zip: name, as: placed }, 'retry requested: ZIP moved from Outbox_Failed back to Outbox_Auto');
  logBook.add({
    action: 'Retry',
    status: 'Success',
    fileName: placed,
    folder: 'Outbox_Auto',
    reason: `retry requested in the GUI: moved from Outbox_Failed to Outbox_Auto${placed === name ? '' : ` as ${placed}`}`,
  });
  return { kind: 'outbox', name: placed, movedTo: 'Outbox_Auto' };
}

async function retryInbox(deps: RetryDeps, name: string): Promise<RetryResult> {
  const { layout, logBook } = deps;
  const from = join(layout.inboxFailed, name);
  await existing(from, 'dir', 'Inbox_Failed', name);
  // A staging name of its own: never onto a folder the tracker is filling.
  let stagedName = name;
  for (let n = 2; await lstat(join(layout.staging, stagedName)).then(() => true, () => false); n += 1) stagedName = `${name}-retry${n}`;
  const dir = join(layout.staging, stagedName);
  // In staging it is durable work: a crash now and the next start zips it (crash recovery).
  await durableRename(from, dir);
  await fsyncDir(layout.inboxFailed);
  forget(deps, 'Inbox_Failed', name);
  deps.log.info({ study: stagedName, from: name }, 'retry requested: study folder moved from Inbox_Failed to be zipped again');
  logBook.add({
    action: 'Retry',
    status: 'Success',
    fileName: name,
    folder: 'Inbox_Failed',
    reason: 'retry requested in the GUI: the study is zipped again',
  });
  const key = StudyTracker.keyOfFolder(stagedName);
  void deps.enqueueStudy({ key, dir, instances: new Map() });
  return { kind: 'inbox', name: stagedName, movedTo: 'staging' };
}

/** The item left the failed folder: its retention record goes (a new failure writes a new one). */
function forget(deps: RetryDeps, folder: FailedFolder, name: string): void {
  try {
    deps.logBook.forgetFailedMove(folder, name);
  } catch (err) {
    deps.log.warn({ err, folder, item: name }, 'could not drop the retention record of a retried item; retention forgets it at its next pass');
  }
}
