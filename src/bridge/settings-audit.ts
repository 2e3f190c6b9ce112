/**
 * The audit trail of settings (SPEC §4 log book, action `Settings`): which keys a save changed,
 * as `key: old → new` lines, and the log book row of a save or a refused save. Secrets never
 * reach the row: a password shows as "(changed)". File paths (a TLS key's too) are shown; the
 * files' contents are never read here.
 */
import type { ConfigIssue } from '../config/errors.js';
import type { LogEntryInput } from '../logbook/schema.js';

/** Keys whose values are secrets: only the fact of a change is recorded. */
const SECRET_KEY = /(^|\.)(password|passphrase|secret|token)$/i;

/** A value longer than this is cut (a long list of peers must not crowd out the other keys). */
const VALUE_MAX = 300;

/** True for a key whose value must never be written to a log (`gui.password`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Dotted key → leaf value; arrays (the allowed peers) are one value. */
function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (!isObject(value)) {
    out.set(prefix, value);
    return out;
  }
  for (const [key, child] of Object.entries(value)) flatten(child, prefix === '' ? key : `${prefix}.${key}`, out);
  return out;
}

/** A value as the row shows it: text as it is ("(empty)" for ''), anything else as JSON. */
export function formatSettingValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = '(none)';
  else if (value === '') text = '(empty)';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value) ?? String(value);
  return text.length > VALUE_MAX ? `${text.slice(0, VALUE_MAX - 1)}…` : text;
}

/**
 * The keys whose values differ between `before` (the settings in force) and `after` (the new
 * settings, or the tree a refused save sent), one `key: old → new` line each, in `after`'s key
 * order. Only keys present in `after` count, so a partial tree does not list what it left out.
 * Secret keys read `key: (changed)`.
 */
export function settingsChanges(before: unknown, after: unknown): string[] {
  const old = flatten(before);
  const lines: string[] = [];
  for (const [key, value] of flatten(after)) {
    if (key === '') continue;
    const previous = old.get(key);
    if (JSON.stringify(previous) === JSON.stringify(value)) continue;
    lines.push(isSecretKey(key) ? `${key}: (changed)` : `${key}: ${formatSettingValue(previous)} → ${formatSettingValue(value)}`);
  }
  return lines;
}

/** An issue's line without a secret's value (a rule may quote the value it refused). */
function issueText(issue: ConfigIssue): string {
  return isSecretKey(issue.key) ? `${issue.key}: ${issue.rule}` : issue.text;
}

/** What a save of the settings was, for its log book row. */
export interface SettingsSave {
  /** The settings in force before the save (a Config). */
  before: unknown;
  /** The saved Config, or on a refused save the settings tree that was sent. */
  after: unknown;
  /** Why the save was refused; absent when it succeeded. */
  issues?: readonly ConfigIssue[];
  /** The address the request came from (the GUI's client). */
  address: string;
}

/**
 * The log book row of a save: Success with the changed keys in `reason`, or Failed with
 * "Not saved: …" and the changes that were attempted; the requesting address in `peerAddress`.
 */
export function settingsAuditEntry(save: SettingsSave): LogEntryInput {
  const changes = settingsChanges(save.before, save.after);
  const changeText = changes.length > 0 ? changes.join('\n') : 'no setting changed';
  const peerAddress = save.address;
  if (save.issues === undefined) return { action: 'Settings', status: 'Success', reason: changeText, peerAddress };
  const why = save.issues.length > 0 ? save.issues.map(issueText).join('; ') : 'refused';
  return { action: 'Settings', status: 'Failed', reason: `Not saved: ${why}\n${changeText}`, peerAddress };
}
