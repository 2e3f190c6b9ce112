/**
 * Realistic log book rows for the GUI's accessibility check and its screenshots: German
 * names with umlauts, CRYPE IDs, a warning, and a failed send with a long reason. Written
 * through a second handle on the bridge's own log book file, as another process would, each
 * with its own time over the last two days; the page shows them after a refresh.
 */
import { join } from 'node:path';
import { openLogBook } from '../../src/logbook/logbook.js';
import type { LogEntryInput } from '../../src/logbook/schema.js';

/** The rows, oldest first. */
export const SAMPLE_ROWS: readonly LogEntryInput[] = [
  {
    action: 'Receive', status: 'Success', patientName: 'MÜLLER^Jürgen', birthDate: '19560312', studyDate: '20261202',
    modality: 'CT', instances: 312, studyDescription: 'CT Thorax mit KM', crids: ['4711000012345678'],
    fileName: 'Inbox_Auto/MUELLER_Juergen_19560312_CT_20261202.zip',
  },
  {
    action: 'Send', status: 'Success', patientName: 'MÜLLER^Jürgen', birthDate: '19560312', studyDate: '20261202',
    modality: 'CT', instances: 312, studyDescription: 'CT Thorax mit KM', fileName: 'MUELLER_Juergen_19560312_CT_20261202.zip',
  },
  {
    action: 'Receive', status: 'Success', patientName: 'SCHRÖDER^Anna-Lena', birthDate: '19890721', studyDate: '20261203',
    modality: 'MR', instances: 1184, studyDescription: 'MRT Knie rechts', crids: ['1234567890123456', '9876543210987654'],
    fileName: 'Inbox_Auto/SCHROEDER_Anna-Lena_19890721_MR_20261203.zip',
  },
  {
    action: 'Receive', status: 'Warning', patientName: 'GÖTZ^Björn', birthDate: '19700101', studyDate: '20261203',
    modality: 'CR', instances: 2, studyDescription: 'Thorax p.a.', fileName: 'Inbox_Manual/GOETZ_Bjoern_19700101_CR_20261203.zip',
    reason: 'no CRYPE ID in (0010,2201); the study went to Inbox_Manual',
  },
  {
    action: 'Send', status: 'Failed', patientName: 'WEIß^Käthe', birthDate: '19421130', studyDate: '20261204',
    modality: 'US', instances: 48, studyDescription: 'Sonographie Abdomen', fileName: 'WEISS_Kaethe_19421130_US_20261204.zip',
    reason: 'the PACS refused the association: calling AE title DICOMBRIDGE not recognised (A-ASSOCIATE-RJ result 1, source 1, reason 3); '
      + 'tried 3 times over 90 s, the ZIP was moved to Outbox_Failed and is kept there for 30 days',
  },
  {
    action: 'Echo', status: 'Success', reason: 'C-ECHO to PACS1@10.1.2.3:104 answered in 4 ms',
  },
  {
    action: 'Receive', status: 'Success', patientName: 'ÖZTÜRK^Ayşe', birthDate: '20010915', studyDate: '20261204',
    modality: 'DX', instances: 3, studyDescription: 'Hand links', crids: ['5555444433332222'],
    fileName: 'Inbox_Auto/OEZTUERK_Ayse_20010915_DX_20261204.zip',
  },
];

/** Writes SAMPLE_ROWS into the log book under `storageFolder`, ending `now` (one row every 7 hours). */
export function writeSampleRows(storageFolder: string, now = new Date()): void {
  const rows = SAMPLE_ROWS;
  let i = 0;
  const clock = () => new Date(now.getTime() - (rows.length - i) * 7 * 3600_000 + 17 * 60_000 * i);
  const book = openLogBook(join(storageFolder, 'Logs', 'logbook.sqlite'), { now: clock });
  try {
    for (; i < rows.length; i += 1) book.add(rows[i]);
  } finally {
    book.close();
  }
}
