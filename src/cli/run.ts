/**
 * `dicombridge` and `dicombridge -s` (SPEC §6): the bridge, its supervisor and the admin GUI
 * in this process until SIGTERM/SIGINT (or the Windows service's stop, which arrives as
 * SIGTERM through src/service/windows-entry.ts).
 */
import { createBridge } from '../app.js';
import type { Config } from '../config/schema.js';
import { Supervisor } from '../supervisor.js';
import { openBrowser } from '../web/open-browser.js';
import { startGuiServer } from '../web/server.js';

/** Options of runBridge. */
export interface RunOptions {
  config: Config;
  configPath: string;
  version: string;
  /** Open the GUI in the desktop browser (foreground mode without -s). */
  openGui: boolean;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runBridge(options: RunOptions): Promise<number> {
  const { config, configPath, version } = options;
  const first = await createBridge(config);
  const log = first.log;
  const supervisor = new Supervisor(first, { configPath, start: (next) => createBridge(next), log });
  let gui;
  try {
    gui = await startGuiServer({ supervisor, version, log });
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  log.info({ storageFolder: config.storageFolder, receivePort: first.receivePort, gui: gui.url, configPath }, 'DicomBridge running');
  process.stdout.write(`DicomBridge admin GUI: ${gui.url}\n`);
  if (options.openGui) openBrowser(gui.url, (err) => log.info({ err: err.message }, 'no browser opened; open the GUI address by hand'));
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gui.close();
  await supervisor.stop();
  return 0;
}
