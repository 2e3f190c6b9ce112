/**
 * Start-up recovery of the incoming folder (SPEC §1: no acknowledged instance is lost). A file
 * there whose commit record matches (commit-record.ts) was acknowledged, or was about to be,
 * and had not yet moved into its study folder: it moves into the latest staging folder of its
 * study (or a new one), so it is zipped with its study. Every other file is a reception that
 * broke off, never acknowledged, and is deleted.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import { fsyncDir } from '../durable-fs.js';
import { uidFileName } from '../study/safe-names.js';
import { StudyTracker } from '../study/tracker.js';
import { isCommitted } from './commit-record.js';

/** Moves committed instance files into staging; returns how many were recovered. */
export async function recoverIncoming(incomingDir: string, stagingDir: string, log: Logger): Promise<number> {
  const staged = (await readdir(stagingDir)).sort();
  const touched = new Set<string>();
  let recovered = 0;
  for (const name of await readdir(incomingDir)) {
    const path = join(incomingDir, name);
    if (!(await isCommitted(path).catch(() => false))) {
      await rm(path, { force: true, recursive: true });
      continue;
    }
    let key = `unreadable~${Date.now().toString(36)}`;
    let fileName = name.replace(/\.part$/, '.dcm');
    try {
      const { captured } = await readPart10Attributes(path, [TAGS.PatientID, TAGS.StudyInstanceUID, TAGS.SOPInstanceUID]);
      key = StudyTracker.keyOf(asciiValue(captured.get(TAGS.PatientID)), asciiValue(captured.get(TAGS.StudyInstanceUID)));
      const sop = asciiValue(captured.get(TAGS.SOPInstanceUID));
      if (sop) fileName = `${uidFileName(sop)}.dcm`;
    } catch (err) {
      // Zipping will fail on it too and move it, with its reason, to Inbox_Failed: never lost.
      log.warn({ err, file: path }, 'recovered instance cannot be read; it is staged on its own');
    }
    const latest = staged.filter((folder) => StudyTracker.keyOfFolder(folder) === key).at(-1);
    const folder = latest ?? `${key}~${Date.now().toString(36)}-recovered`;
    if (!latest) {
      await mkdir(join(stagingDir, folder), { recursive: true });
      staged.push(folder);
    }
    await rename(path, join(stagingDir, folder, fileName));
    touched.add(folder);
    recovered += 1;
  }
  if (recovered > 0) {
    for (const folder of touched) await fsyncDir(join(stagingDir, folder));
    await fsyncDir(stagingDir);
    await fsyncDir(incomingDir);
    log.info({ instances: recovered, studies: touched.size }, 'recovered acknowledged instances from the incoming folder');
  }
  return recovered;
}
