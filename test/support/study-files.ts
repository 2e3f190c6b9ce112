/**
 * Writes generated studies to disk for tests: a study is N instances over one or two series,
 * with an optional CRYPE-ID element, as explicit VR little endian Part 10 files.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { testUid, writeInstanceFile, type ElementSpec } from './dicom-builder.js';

/** A generated study on disk. */
export interface StudyFiles {
  studyUid: string;
  patientId: string;
  files: string[];
  sopUids: string[];
  /** Dataset bytes as written, by SOP Instance UID. */
  datasets: Map<string, Buffer>;
}

/** Options of {@link writeStudy}. */
export interface StudyOptions {
  count: number;
  series?: number;
  patientName?: string;
  extra?: ElementSpec[];
  rows?: number;
  columns?: number;
  frames?: number;
  /** Pixel data for instance i (e.g. realistic noise for the benchmark). */
  pixelData?: (index: number) => Buffer;
  /** Reuse a study UID (a re-send, or a second part). */
  studyUid?: string;
  sopUid?: (index: number) => string;
}

/** Writes a study into `dir` (created if missing). */
export async function writeStudy(dir: string, options: StudyOptions): Promise<StudyFiles> {
  await mkdir(dir, { recursive: true });
  const studyUid = options.studyUid ?? testUid();
  const seriesUids = Array.from({ length: options.series ?? 2 }, () => testUid());
  const study: StudyFiles = { studyUid, patientId: 'PID-1', files: [], sopUids: [], datasets: new Map() };
  for (let i = 0; i < options.count; i += 1) {
    const sopUid = options.sopUid?.(i) ?? testUid();
    const file = join(dir, `${String(i).padStart(5, '0')}.dcm`);
    const dataset = await writeInstanceFile(file, {
      patientName: options.patientName ?? 'HOLTZMANN^Carsten',
      patientId: study.patientId,
      studyUid,
      seriesUid: seriesUids[i % seriesUids.length]!,
      seriesNumber: (i % seriesUids.length) + 1,
      sopUid,
      instanceNumber: i + 1,
      rows: options.rows ?? 16,
      columns: options.columns ?? 16,
      frames: options.frames,
      pixelData: options.pixelData?.(i),
      extra: options.extra,
    });
    study.files.push(file);
    study.sopUids.push(sopUid);
    study.datasets.set(sopUid, dataset);
  }
  return study;
}
