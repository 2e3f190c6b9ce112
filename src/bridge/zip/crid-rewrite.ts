/**
 * The one edit the bridge makes to a dataset (SPEC §1 "Receiver IDs"): cut the trailing CRYPE
 * IDs out of the configured element. Receiving checks it as a dry run on the bytes it stages,
 * zipping applies it; both build it here so the check and the edit are the same code.
 */
import type { DatasetRewriteSpec } from '../../dicom/part10/rewrite.js';
import { extractCrids, type CridExtraction } from '../crid/extract.js';

/**
 * The rewrite of `tag` that keeps the text before the IDs; `onValue` sees each extraction
 * (IDs found, malformed text). With `dryRun` nothing is changed, only checked.
 */
export function cridRewrite(tag: number, options: { dryRun?: boolean; onValue?(found: CridExtraction): void } = {}): DatasetRewriteSpec {
  return {
    tag,
    dryRun: options.dryRun,
    edit: (value) => {
      const found = extractCrids(value);
      options.onValue?.(found);
      return found.ids.length > 0 ? found.kept : undefined;
    },
  };
}
