/**
 * The running bridge behind the admin GUI (SPEC §7: "saved settings take effect without a
 * manual restart"). Owns the current Bridge and the configuration file: validates what the
 * GUI sends, applies it to the live bridge, then writes the file atomically. A new storage
 * folder cannot be patched into a running bridge (log book, staging and watched folders all
 * live there), so that one change completes what is staged, stops the bridge and starts it
 * again on the new folder, all inside this process.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { Bridge } from './app.js';
import { addCounts, emptyCounts, type BridgeCounts } from './bridge/metrics.js';
import { ConfigError, configIssue, type ConfigIssue } from './config/errors.js';
import { checkStorageFolder, parseConfig, saveConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';
import type { LogEntry } from './logbook/schema.js';

/** Events for the GUI's live view. */
export interface SupervisorEvents {
  /** A log book row was added (by whichever bridge is current). */
  logbook: [LogEntry];
  /** Settings were saved and applied. */
  settings: [Config];
  /** The current bridge's "In progress" items changed (read them with `bridge.progress.snapshot()`). */
  progress: [];
}

/** What the supervisor needs from outside: how to start a bridge on a config. */
export interface SupervisorDeps {
  configPath: string;
  start: (config: Config) => Promise<Bridge>;
  log: Logger;
}

/** Result of a successful save. */
export interface SaveResult {
  config: Config;
  /** The settings in force before this save (the audit trail's "old" values). */
  previous: Config;
  /** What changed, in words, for the GUI ("DICOM receiver now listening on …"). */
  applied: string[];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private current: Bridge;
  private unsubscribe: () => void = () => undefined;
  /** The last save; the next one waits for it. */
  private saving: Promise<unknown> = Promise.resolve();
  /** Counts of the bridges this one replaced, so /metrics counters never go back. */
  private carried: BridgeCounts = emptyCounts();

  constructor(
    bridge: Bridge,
    private readonly deps: SupervisorDeps,
  ) {
    super();
    this.current = bridge;
    this.follow(bridge);
  }

  get bridge(): Bridge {
    return this.current;
  }

  get config(): Config {
    return this.current.config;
  }

  get configPath(): string {
    return this.deps.configPath;
  }

  /** Cumulative counts since the process started, across bridge restarts (GET /metrics). */
  get counts(): BridgeCounts {
    return addCounts(this.carried, this.current.counters.snapshot());
  }

  /**
   * Turns settings sent by the GUI into a full, validated Config. The GUI never sees the
   * password, so the saved one is carried over unless the request sets `gui.password`
   * explicitly (a new password). Throws ConfigError naming every key.
   */
  candidate(settings: unknown): Config {
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
      throw new ConfigError([configIssue('', 'settings must be a JSON object')]);
    }
    const json = structuredClone(settings) as Record<string, unknown>;
    const gui = json.gui;
    if (gui !== null && typeof gui === 'object' && !Array.isArray(gui)) {
      const sent = gui as Record<string, unknown>;
      json.gui = { ...sent, password: 'password' in sent ? sent.password : this.config.gui.password };
    }
    return parseConfig(json, { baseDir: path.dirname(this.deps.configPath) });
  }

  /** The rule violations of these settings, [] when they would be accepted. */
  validate(settings: unknown): readonly ConfigIssue[] {
    try {
      this.candidate(settings);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
  }

  /**
   * Validates, applies to the running bridge, then writes the configuration file. Nothing is
   * written when validation or applying fails (ConfigError naming the key); if writing
   * fails, the old settings are applied again. Saves run one at a time.
   */
  save(settings: unknown): Promise<SaveResult> {
    const run = this.saving.then(() => this.saveNow(settings));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async saveNow(settings: unknown): Promise<SaveResult> {
    const next = this.candidate(settings);
    const previous = this.config;
    const applied = await this.apply(next);
    try {
      await saveConfig(this.deps.configPath, next);
    } catch (err) {
      await this.apply(previous).catch((restoreErr: unknown) => this.deps.log.error({ err: restoreErr }, 'could not restore the previous settings'));
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError([configIssue('', `the configuration file ${this.deps.configPath} must be writable (${reason})`)], { cause: err });
    }
    this.deps.log.info({ applied }, 'settings saved');
    this.emit('settings', next);
    return { config: next, previous, applied };
  }

  /** Stops the current bridge (shutdown). */
  async stop(): Promise<void> {
    await this.saving;
    this.unsubscribe();
    await this.current.stop();
  }

  private async apply(next: Config): Promise<string[]> {
    if (next.storageFolder === this.current.config.storageFolder) return this.current.reconfigure(next);
    await checkStorageFolder(next);
    const old = this.current;
    const oldConfig = old.config;
    this.deps.log.info({ from: oldConfig.storageFolder, to: next.storageFolder }, 'moving to a new storage folder');
    // Staged studies belong to the old folder: finish them there before leaving it.
    await old.flush();
    this.unsubscribe();
    await old.stop();
    this.carried = addCounts(this.carried, old.counters.snapshot());
    try {
      this.current = await this.deps.start(next);
    } catch (err) {
      this.current = await this.deps.start(oldConfig);
      this.follow(this.current);
      throw err;
    }
    this.follow(this.current);
    return [`storage folder now ${next.storageFolder} (the bridge restarted on it)`];
  }

  private follow(bridge: Bridge): void {
    const offLogBook = bridge.logBook.onAdd((entry) => this.emit('logbook', entry));
    const offProgress = bridge.progress.onChange(() => this.emit('progress'));
    this.unsubscribe = () => {
      offLogBook();
      offProgress();
    };
    this.emit('progress'); // a new bridge: its items replace the old one's
  }
}
