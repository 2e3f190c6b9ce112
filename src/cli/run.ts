/**
 * `dicombridge` and `dicombridge -s` (SPEC §6): the bridge, its supervisor and the admin GUI
 * in this process until SIGTERM/SIGINT, or on Windows Ctrl+C/Ctrl+Break (SIGINT/SIGBREAK):
 * the Windows service host (WinSW) stops the bridge by sending Ctrl+C to its console.
 *
 * Without `-s` (foreground, the double-click), a bridge already serving the GUI for the same
 * configuration file (the service) is looked for first: if found, its GUI is opened and this
 * process exits 0 (src/cli/already-running.ts).
 *
 * Graceful shutdown (SPEC §6 "finish or cleanly abort what is in flight, lose nothing"):
 *  1. at the first signal the DICOM listener stops accepting at once and the GUI closes;
 *  2. open associations may finish for up to the drain time (10 s; the environment variable
 *     `DICOMBRIDGE_DRAIN_SECONDS`, 0–20, changes it), then are aborted with A-ABORT: an
 *     instance cut short leaves no file and was never acknowledged, so the PACS sends it again;
 *  3. the sender stops between instances (the ZIP stays claimed and is sent at the next start),
 *     staged studies stay staged (completed at the next start), the log book closes, and the
 *     technical log is flushed and closed; exit code 0.
 * A second signal during shutdown exits at once with code 1 ("forced"); the whole shutdown is
 * bounded (30 s), after which the process exits with code 1 anyway. Neither loses anything:
 * what was acknowledged is staged durably, what was not is sent again by the PACS.
 */
import { readdir } from 'node:fs/promises';
import { createBridge } from '../app.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../dicom/ul/logger.js';
import { closeAllLoggers, setConsoleDestination } from '../log.js';
import { Supervisor } from '../supervisor.js';
import { openBrowser } from '../web/open-browser.js';
import { startGuiServer } from '../web/server.js';
import { alreadyRunningLine, CONSOLE_HOLD_MS, holdConsole, probeRunningBridge } from './already-running.js';
import { createConsolePretty, wantsColour, wantsPrettyConsole } from './console-pretty.js';

/** Options of runBridge. */
export interface RunOptions {
  config: Config;
  configPath: string;
  version: string;
  /** Open the GUI in the desktop browser (foreground mode without -s). */
  openGui: boolean;
}

/** How long open associations may go on after a stop signal, unless the environment says otherwise. */
export const DEFAULT_DRAIN_MS = 10_000;
/** The whole shutdown's bound: past it the process exits with code 1 anyway. */
export const SHUTDOWN_LIMIT_MS = 30_000;
/** The largest drain the environment may ask for (leaves time for the rest within the limit). */
const MAX_DRAIN_SECONDS = 20;

/**
 * The drain time from `DICOMBRIDGE_DRAIN_SECONDS` (a whole number 0–20), else the default.
 * Throws TypeError naming the variable for any other value, so a typo is not silently ignored.
 */
export function drainMsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.DICOMBRIDGE_DRAIN_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_DRAIN_MS;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_DRAIN_SECONDS) {
    throw new TypeError(`DICOMBRIDGE_DRAIN_SECONDS must be a whole number of seconds from 0 to ${MAX_DRAIN_SECONDS} (got "${raw}")`);
  }
  return Number(raw) * 1000;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runBridge(options: RunOptions): Promise<number> {
  const { config, configPath, version } = options;
  const drainMs = drainMsFromEnv(process.env);
  if (options.openGui) {
    // Before binding anything: a double-click while the service runs opens the service's GUI.
    const running = await probeRunningBridge({ gui: config.gui, configPath });
    if (running) {
      process.stdout.write(alreadyRunningLine(running));
      openBrowser(running.url, (err) => process.stderr.write(`dicombridge: no browser opened (${err.message}); open ${running.url} by hand\n`));
      if (process.platform === 'win32' && process.stdin.isTTY) {
        process.stdout.write(`Press Enter to close this window (it closes by itself in ${CONSOLE_HOLD_MS / 1000} s).\n`);
        await holdConsole(process.stdin);
      }
      return 0;
    }
  }
  // On a terminal in the foreground, readable lines instead of JSON (the log file keeps JSON).
  if (wantsPrettyConsole(!options.openGui, process.stdout)) {
    setConsoleDestination(createConsolePretty(process.stdout, { colour: wantsColour(process.stdout, process.env) }));
  }
  const first = await createBridge(config);
  const log = first.log;
  const supervisor = new Supervisor(first, { configPath, start: (next) => createBridge(next), log });
  let gui;
  try {
    gui = await startGuiServer({ supervisor, version, log, mode: options.openGui ? 'foreground' : 'service' });
  } catch (err) {
    await supervisor.stop();
    await closeAllLoggers();
    throw err;
  }
  // Listen for stop signals before saying "running": whoever reads that line may stop us at once.
  const stopped = firstStopSignal(() => supervisor.bridge.log);
  log.info({ version, node: process.version, storageFolder: config.storageFolder, receivePort: first.receivePort, gui: gui.url, configPath }, 'DicomBridge running');
  process.stdout.write(`DicomBridge ${version} on Node.js ${process.version}\nDicomBridge admin GUI: ${gui.url}\n`);
  if (options.openGui) openBrowser(gui.url, (err) => log.info({ err: err.message }, 'no browser opened; open the GUI address by hand'));

  const signal = await stopped;
  const current = (): Logger => supervisor.bridge.log;
  current().info({ signal, drainMs }, 'stopping: no new associations; open ones may finish within the drain time');
  const limit = setTimeout(() => {
    current().error({ limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long: exiting anyway (staged studies stay for the next start)');
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  try {
    await Promise.all([gui.close(), supervisor.bridge.stopReceiving(drainMs)]);
    await supervisor.stop();
    const bridge = supervisor.bridge;
    const staged = (await readdir(bridge.layout.staging).catch(() => [])).length;
    bridge.log.info({ stagedStudies: staged }, 'stopped gracefully; staged studies are completed at the next start');
    return 0;
  } catch (err) {
    current().error({ err }, 'shutdown failed; what is staged stays for the next start');
    return 1;
  } finally {
    clearTimeout(limit);
    await closeAllLoggers();
  }
}

/** The signals that stop the bridge: SIGBREAK (Ctrl+Break) exists on Windows only. */
export function stopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK'] : ['SIGINT', 'SIGTERM'];
}

/**
 * Resolves with the first stop signal ({@link stopSignals}). The handlers stay: a second
 * signal while shutting down logs "forced" and exits at once with code 1.
 */
function firstStopSignal(log: () => Logger): Promise<string> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!stopping) {
        stopping = true;
        resolve(signal);
        return;
      }
      log().warn({ signal }, 'forced stop: exiting now (unacknowledged instances are sent again by the PACS; staged studies stay)');
      process.exit(1);
    };
    for (const signal of stopSignals()) process.on(signal, onSignal);
  });
}
