/**
 * Errors of the configuration file. A bad setting must be fixed by an administrator, so the
 * message names the key, the rule and the offending value; code and fields are stable so the
 * GUI and the CLI branch on them, never on the text.
 */

/** One violated rule: the dotted key (`receive.port`, `''` for the whole file) and the rule. */
export interface ConfigIssue {
  /** Dotted path of the setting, e.g. `receive.port`; `''` when the whole file is at fault. */
  readonly key: string;
  /** The rule in words, e.g. `must be an integer from 1 to 65535`, or `unknown key`. */
  readonly rule: string;
  /** The offending value as found in the file (`undefined` for unknown keys and file faults). */
  readonly value?: unknown;
  /** One line for people: `receive.port: must be an integer from 1 to 65535 (got 0)`. */
  readonly text: string;
}

/**
 * A configuration that cannot be used: unreadable file, invalid JSON, unknown key or a value
 * breaking a rule of SPEC §5. `key` and `rule` describe the first issue; `issues` lists all.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG' as const;
  readonly key: string;
  readonly rule: string;
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    if (issues.length === 0) throw new TypeError('ConfigError needs at least one issue');
    super(issues.map((i) => i.text).join('\n'), options);
    this.name = 'ConfigError';
    this.key = issues[0].key;
    this.rule = issues[0].rule;
    this.issues = issues;
  }
}

/** Shows a bad value briefly, so a huge string cannot flood the log or the GUI. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Builds one issue with its readable line; `value` is shown only when given. */
export function configIssue(key: string, rule: string, ...value: [] | [unknown]): ConfigIssue {
  const where = key === '' ? 'configuration' : key;
  if (value.length === 0) return { key, rule, text: `${where}: ${rule}` };
  return { key, rule, value: value[0], text: `${where}: ${rule} (got ${describeValue(value[0])})` };
}
