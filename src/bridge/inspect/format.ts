/**
 * Output of `dicombridge inspect`: plain text for a terminal and JSON for
 * scripts. Every untrusted string in an InspectReport is already terminal-safe (safe-text.ts);
 * the target path given on the command line is escaped here. Hand-written: a few aligned lines,
 * no table library needed.
 */
import { formatCrids } from '../crid/extract.js';
import { inspectExitCode, type InspectReport, type StudyInspection } from './inspect.js';
import { safeText } from './safe-text.js';

/** Width of the label column. */
const LABEL = 18;

function line(label: string, text: string): string {
  return `  ${label.padEnd(LABEL)}${text}`;
}

function continuation(text: string): string {
  return `  ${' '.repeat(LABEL)}${text}`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function orDash(text: string): string {
  return text === '' ? '—' : text;
}

function configuredTagLine(report: InspectReport, study: StudyInspection): string {
  const tag = report.cridTag;
  if (tag === null) return 'off (0000/0000): the bridge takes no IDs';
  const name = tag.keyword ? `${tag.tag} ${tag.keyword}` : tag.tag;
  if (study.crids.length > 0) {
    return `${name} — ${plural(study.crids.length, 'ID')} in ${study.instancesWithIds} of ${study.instances} instances`;
  }
  if (study.instancesWithTag === 0) return `${name} — no IDs found (the element is in no instance)`;
  return `${name} — no IDs found (the element is in ${study.instancesWithTag} of ${study.instances} instances)`;
}

function formatStudy(report: InspectReport, study: StudyInspection): string[] {
  const out: string[] = [];
  out.push(`Study ${orDash(study.studyInstanceUid)} (${plural(study.instances, 'instance')})`);
  out.push(line('Patient name', orDash(study.patientName)));
  out.push(line('Patient ID', orDash(study.patientId)));
  out.push(line('Birth date', `${orDash(study.birthDate)}   Sex ${orDash(study.sex)}   Study date ${orDash(study.studyDate)}   Modality ${orDash(study.modalities.join('-'))}`));
  out.push(line('Description', orDash(study.studyDescription)));
  out.push(line('CRYPE ID tag', configuredTagLine(report, study)));
  if (study.crids.length > 0) out.push(line('CRYPE IDs', formatCrids(study.crids)));
  for (const m of study.malformed) out.push(line('Malformed ID', `${m.file}: ${m.message}`));
  study.otherElements.forEach((el, i) => {
    const text = `${el.location} [${el.vr}] "${el.value}" in ${plural(el.instances, 'instance')}`;
    out.push(i === 0 ? line('CRID# found in', text) : continuation(text));
    out.push(continuation(`→ ${el.hint}`));
  });
  out.push(line('ZIP name', study.zipName ?? '— (none)'));
  out.push(line('Inbox', study.inboxReason === null ? study.inbox : `${study.inbox} (${study.inboxReason})`));
  for (const note of study.notes) out.push(line('Note', note));
  return out;
}

/**
 * The report as plain text for a terminal: a summary, one block per study (naming attributes,
 * the configured element and its IDs, malformed ID text, other elements with `CRID#` text and
 * what to set, ZIP name, inbox) and the skipped files with their reasons. Ends with a newline.
 */
export function formatInspectReport(report: InspectReport): string {
  const out: string[] = [];
  const skippedTotal = report.skipped.length + report.skippedOmitted;
  out.push(`Inspected ${safeText(report.target, Infinity)}: ${plural(report.files, 'file')}, ${plural(report.studies.length, 'study', 'studies')}, ${skippedTotal} skipped`);
  const tag = report.cridTag;
  out.push(`Crype-ID Tag: ${tag === null ? 'off (0000/0000)' : `Group ${tag.group} Element ${tag.element}${tag.keyword ? ` (${tag.keyword})` : ''}`}`);
  for (const study of report.studies) {
    out.push('');
    out.push(...formatStudy(report, study));
  }
  if (skippedTotal > 0) {
    out.push('');
    out.push(`Skipped ${plural(skippedTotal, 'file')}`);
    for (const s of report.skipped) out.push(`  ${s.file}: ${s.reason}`);
    if (report.skippedOmitted > 0) out.push(`  … and ${report.skippedOmitted} more`);
  }
  if (report.studies.length === 0) {
    out.push('');
    out.push('No study found.');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The report as JSON for `--json`: `{ "format": "dicombridge-inspect/1", "exitCode", ...report }`
 * with the InspectReport fields in a fixed order, pretty-printed, ending with a newline.
 * Strings in it are terminal-safe (control characters shown as `\xNN`).
 */
export function reportToJson(report: InspectReport): string {
  const stable = {
    format: 'dicombridge-inspect/1',
    exitCode: inspectExitCode(report),
    target: safeText(report.target, Infinity),
    cridTag: report.cridTag,
    files: report.files,
    studies: report.studies.map((s) => ({
      studyInstanceUid: s.studyInstanceUid,
      patientId: s.patientId,
      instances: s.instances,
      patientName: s.patientName,
      birthDate: s.birthDate,
      sex: s.sex,
      studyDate: s.studyDate,
      studyDescription: s.studyDescription,
      modalities: s.modalities,
      crids: s.crids,
      instancesWithIds: s.instancesWithIds,
      instancesWithTag: s.instancesWithTag,
      malformed: s.malformed.map((m) => ({ file: m.file, message: m.message })),
      otherElements: s.otherElements.map((e) => ({
        location: e.location,
        tag: e.tag,
        keyword: e.keyword,
        vr: e.vr,
        topLevel: e.topLevel,
        value: e.value,
        instances: e.instances,
        wouldYield: e.wouldYield,
        hint: e.hint,
      })),
      zipName: s.zipName,
      inbox: s.inbox,
      inboxReason: s.inboxReason,
      notes: s.notes,
    })),
    skipped: report.skipped.map((s) => ({ file: s.file, kind: s.kind, reason: s.reason })),
    skippedOmitted: report.skippedOmitted,
    skippedByKind: report.skippedByKind,
  };
  return `${JSON.stringify(stable, null, 2)}\n`;
}
