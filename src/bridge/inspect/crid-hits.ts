/**
 * An element holding `CRID#` text, as `inspect` shows it: where it is (with the path through
 * sequences), its value decoded and terminal-safe, and what to set so the bridge takes it.
 */
import { decodeText } from '../../dicom/part10/charset.js';
import { keywordOf } from '../../dicom/part10/dictionary.js';
import { formatTag, tagElement, tagGroup } from '../../dicom/part10/tags.js';
import { CHARSET_VRS } from '../../dicom/part10/vr.js';
import { extractCrids } from '../crid/extract.js';
import type { CridTextHit } from './crid-text-finder.js';
import { safeText } from './safe-text.js';
import type { CridTagInfo, OtherCridElement } from './report.js';

/** DatasetRewriter's default: a longer CRYPE-ID value is left as it is by the bridge. */
export const MAX_REWRITE_VALUE_BYTES = 64 * 1024;

/** The tag as `(gggg,eeee)`, its hex halves for the settings, and its keyword when known. */
export function tagInfo(t: number): CridTagInfo {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return { tag: formatTag(t), group: hex(tagGroup(t)), element: hex(tagElement(t)), keyword: keywordOf(t) ?? null };
}

function tagLabel(t: number): string {
  const keyword = keywordOf(t);
  return keyword ? `${formatTag(t)} ${keyword}` : formatTag(t);
}

/** A hit's value for display: decoded with the instance's character set, padding removed, terminal-safe. */
function displayValue(hit: CridTextHit, charset: string): string {
  const text = CHARSET_VRS.has(hit.vr)
    ? decodeText(hit.value, charset, hit.vr)
    : hit.value.toString('latin1').replace(/[\0 ]+$/, '');
  const shown = safeText(text);
  return hit.truncated && !shown.endsWith('…') ? `${shown}…` : shown;
}

function hintFor(hit: CridTextHit, cridTag: number | null, wouldYield: OtherCridElement['wouldYield']): string {
  if (hit.path.length > 0) {
    return 'inside a sequence: the bridge takes CRYPE IDs only from a top-level element; have the PACS put them in one';
  }
  if (hit.tag === cridTag) {
    return `this is the configured element, but its value is longer than ${MAX_REWRITE_VALUE_BYTES} bytes and the bridge leaves it as it is`;
  }
  const info = tagInfo(hit.tag);
  let hint = `set Crype-ID Tag Group ${info.group} and Element ${info.element}`;
  if (wouldYield?.malformed) hint += ` (but the ID text there is malformed: ${wouldYield.malformed})`;
  else if (wouldYield !== null && wouldYield.ids.length === 0) hint += ' (but no valid ID would be taken from it)';
  return hint;
}

/** An element with `CRID#` text as shown to the administrator (values decoded, terminal-safe). */
export function describeHit(hit: CridTextHit, charset: string, cridTag: number | null): OtherCridElement {
  const steps = hit.path.map((s) => `${tagLabel(s.tag)} item ${s.item}`);
  const wouldYield = hit.path.length === 0 && !hit.truncated
    ? (({ ids, malformed }) => ({ ids, malformed: malformed === null ? null : safeText(malformed) }))(extractCrids(hit.value))
    : null;
  const info = tagInfo(hit.tag);
  return {
    location: [...steps, tagLabel(hit.tag)].join(' > '),
    tag: info.tag,
    keyword: info.keyword,
    vr: safeText(hit.vr),
    topLevel: hit.path.length === 0,
    value: displayValue(hit, charset),
    instances: 1,
    wouldYield,
    hint: hintFor(hit, cridTag, wouldYield),
  };
}
