/**
 * Names of the entries inside a study ZIP (SPEC §1): one Part 10 file per instance, grouped by
 * series, unique and safe on every file system. Names are built from numbers we assign and a
 * sanitised modality, never from raw UIDs.
 */

/** The ordering attributes of one staged instance. */
export interface EntrySource {
  seriesInstanceUid: string;
  seriesNumber: string;
  instanceNumber: string;
  modality: string;
  sopInstanceUid: string;
}

function numeric(value: string): number {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

function compareSeries(a: EntrySource, b: EntrySource): number {
  return numeric(a.seriesNumber) - numeric(b.seriesNumber) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid);
}

function compareInstances(a: EntrySource, b: EntrySource): number {
  return numeric(a.instanceNumber) - numeric(b.instanceNumber) || a.sopInstanceUid.localeCompare(b.sopInstanceUid);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const safeModality = (m: string) => m.replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 'OT';

/**
 * Orders the instances by series then instance number and names them
 * `S001_CT/I00001.dcm`: the series folder numbers series in order (the DICOM Series Number may
 * be missing or repeated), the file numbers instances within the series.
 */
export function assignEntryNames<T extends EntrySource>(sources: readonly T[]): Array<{ source: T; name: string }> {
  const bySeries = new Map<string, T[]>();
  for (const source of [...sources].sort(compareSeries)) {
    const list = bySeries.get(source.seriesInstanceUid);
    if (list) list.push(source);
    else bySeries.set(source.seriesInstanceUid, [source]);
  }
  const named: Array<{ source: T; name: string }> = [];
  let seriesIndex = 0;
  for (const list of bySeries.values()) {
    seriesIndex += 1;
    const folder = `S${pad(seriesIndex, 3)}_${safeModality(list[0]!.modality)}`;
    list.sort(compareInstances).forEach((source, i) => named.push({ source, name: `${folder}/I${pad(i + 1, 5)}.dcm` }));
  }
  return named;
}
