/**
 * `dicombridge inspect FILE|DIR [--json]` (README "inspect"): answers the manual's most common
 * question, "why were the CRYPE IDs not detected?", before any data is sent.
 */
import type { Config } from '../config/schema.js';
import { formatInspectReport, reportToJson } from '../bridge/inspect/format.js';
import { inspectExitCode, inspectPath } from '../bridge/inspect/inspect.js';

/** Prints the report; resolves with its exit code (0 all to Inbox_Auto, 1 otherwise, 2 unreadable). */
export async function runInspect(target: string, config: Config, json: boolean): Promise<number> {
  let report;
  try {
    report = await inspectPath(target, config);
  } catch (err) {
    process.stderr.write(`dicombridge inspect: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(json ? reportToJson(report) : formatInspectReport(report));
  return inspectExitCode(report);
}
