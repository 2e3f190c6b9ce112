/**
 * Loading, validating and saving the JSON configuration file (SPEC §5). zod does the rule
 * checking; this module turns its issues into ConfigErrors that name the key, the rule and the
 * value, resolves relative folders against the file's own folder and writes the file atomically
 * (temporary file in the same folder, fsync, rename, fsync of the folder) so that a power cut
 * during "Save" leaves either the old or the new settings, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type * as z from 'zod';
import { configIssue, ConfigError, type ConfigIssue } from './errors.js';
import { configSchema, RULES, type Config } from './schema.js';

/** Options of parseConfig. */
export interface ParseConfigOptions {
  /** Folder against which a relative `storageFolder` resolves: the configuration file's folder. */
  baseDir: string;
}

/** Keys whose values are secrets. */
const SECRET_KEYS = new Set(['gui.password']);

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function toIssues(json: unknown, zodIssues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const unknownKeys: ConfigIssue[] = [];
  const others: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const where = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) unknownKeys.push(configIssue([...where, key].join('.'), RULES.unknownKey));
      continue;
    }
    const key = where.join('.');
    // A secret is never echoed back into a message, a log line or the GUI.
    const value = SECRET_KEYS.has(key) ? undefined : valueAt(json, issue.path);
    others.push(value === undefined ? configIssue(key, issue.message) : configIssue(key, issue.message, value));
  }
  // A typo is the likeliest cause of everything else, so it is reported first.
  return [...unknownKeys, ...others];
}

/**
 * Validates parsed JSON against SPEC §5, fills in defaults and makes `storageFolder` and the
 * TLS file paths absolute.
 * Throws ConfigError naming every offending key.
 */
export function parseConfig(json: unknown, options: ParseConfigOptions): Config {
  const result = configSchema.safeParse(json);
  if (!result.success) throw new ConfigError(toIssues(json, result.error.issues));
  const config: Config = result.data;
  config.storageFolder = path.resolve(options.baseDir, config.storageFolder);
  const absolute = (file: string) => (file === '' ? '' : path.resolve(options.baseDir, file));
  for (const tls of [config.receive.tls, config.send.tls, config.gui.tls] as Array<Record<string, unknown>>) {
    for (const key of ['certFile', 'keyFile', 'caFile']) {
      if (typeof tls[key] === 'string') tls[key] = absolute(tls[key]);
    }
  }
  return config;
}

/** The configuration file used when `--config` is not given: `dicombridge.json` in the working directory. */
export const DEFAULT_CONFIG_FILE = 'dicombridge.json';

/**
 * Reads and validates a configuration file; with no path, returns the embedded defaults
 * (a relative storage folder would then resolve against the working directory). With
 * `missingOk`, a file that does not exist yet gives the defaults too (the GUI's Save creates it).
 */
export async function loadConfig(file?: string, options: { missingOk?: boolean } = {}): Promise<Config> {
  if (file === undefined) return parseConfig({}, { baseDir: process.cwd() });
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    if (options.missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return parseConfig({}, { baseDir: path.dirname(absolute) });
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      [{ key: '', rule: 'file must be readable', text: `${absolute}: cannot read the configuration file (${reason})` }],
      { cause: err },
    );
  }
  // Windows editors like to start UTF-8 files with a byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      [{ key: '', rule: 'must be valid JSON', text: `${absolute}: not valid JSON (${(err as Error).message})` }],
      { cause: err },
    );
  }
  return parseConfig(json, { baseDir: path.dirname(absolute) });
}

async function fsyncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Validates and writes the configuration atomically: a temporary file in the same folder is
 * written, flushed with fsync and renamed over the target, then the folder is flushed.
 */
export async function saveConfig(file: string, config: Config): Promise<void> {
  const absolute = path.resolve(file);
  const folder = path.dirname(absolute);
  const valid = parseConfig(config, { baseDir: folder });
  const text = `${JSON.stringify(valid, null, 2)}\n`;
  const temp = path.join(folder, `.${path.basename(absolute)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  let renamed = false;
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, absolute);
    renamed = true;
    await fsyncFolder(folder);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/**
 * The CRYPE ID element as a 32-bit tag `(group << 16 | element)`, or null when both halves are
 * `0000` (feature off). SPEC §1, §5.
 */
export function cridTag(config: Pick<Config, 'receive'>): number | null {
  const group = parseInt(config.receive.cridTagGroup, 16);
  const element = parseInt(config.receive.cridTagElement, 16);
  if (group === 0 && element === 0) return null;
  return ((group << 16) | element) >>> 0;
}

/**
 * Checks the SPEC §5 rule "storage folder: writable" by creating the folder if needed and
 * writing and removing a probe file. Throws ConfigError for key `storageFolder`.
 */
export async function checkStorageFolder(config: Pick<Config, 'storageFolder'>): Promise<void> {
  const folder = config.storageFolder;
  const probe = path.join(folder, `.write-probe-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(folder, { recursive: true });
    const handle = await open(probe, 'wx');
    await handle.close();
    await unlink(probe);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    const issue = configIssue('storageFolder', `must be a writable folder (${reason})`, folder);
    throw new ConfigError([issue], { cause: err });
  }
}
