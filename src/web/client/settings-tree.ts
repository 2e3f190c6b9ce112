/**
 * The settings as the API carries them (a nested JSON tree keyed like the config file) and the
 * few pure operations the Settings tab needs on it: read and write a dotted key, turn number
 * text into a Number, compare values.
 */
import type { SettingsTree } from './api.js';

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True for a JSON object (not an array, not null). */
export function isTree(value: unknown): value is SettingsTree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted key ("receive.port"), or undefined. */
export function getPath(tree: SettingsTree, key: string): unknown {
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (!isTree(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Sets the value at a dotted key, creating the objects on the way. */
export function setPath(tree: SettingsTree, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isTree(next)) node[part] = {};
    node = node[part] as SettingsTree;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** A Number when the text is a valid number, else the raw text (gui-api.md: validate). */
export function numberOrText(text: string): number | string {
  const t = text.trim();
  return NUMBER_TEXT.test(t) ? Number(t) : text;
}

/** A stable text for "same value?" comparisons; an absent value equals an empty one. */
export function comparable(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
