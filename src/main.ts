/**
 * The `dicombridge` command (SPEC §6): parses argv, picks the mode, nothing else.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createBridge } from './app.js';
import { runEcho } from './bridge/send/echo-command.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load.js';
import { Supervisor } from './supervisor.js';
import { openBrowser } from './web/open-browser.js';
import { startGuiServer } from './web/server.js';

const USAGE = `Usage: dicombridge [options]
       dicombridge echo [--config PATH]

  (no option)        run in the foreground and open the admin GUI in the browser
  -s, --service      service mode in the foreground (GUI served, no browser window), until SIGTERM/Ctrl-C
  echo               send a C-ECHO to the configured PACS (send.*); exit code 0 on success
  --config PATH      the JSON configuration file (default: ./dicombridge.json if it exists,
                     else the built-in defaults; the GUI's Save writes it)
  -h, --help         this text
  -v, --version      the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      service: { type: 'boolean', short: 's' },
      install: { type: 'boolean', short: 'i' },
      uninstall: { type: 'boolean', short: 'u' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'echo')) {
    process.stderr.write(`dicombridge: unknown command ${positionals.join(' ')}\n${USAGE}`);
    return 2;
  }
  const explicit = values.config !== undefined;
  const configPath = path.resolve(values.config ?? DEFAULT_CONFIG_FILE);
  const config = await loadConfig(configPath, { missingOk: !explicit });
  if (positionals[0] === 'echo') return runEcho(config, process.stdout);
  if (values.install || values.uninstall) {
    process.stderr.write('dicombridge: installing as an operating-system service is not available in this version; run with -s under your service manager.\n');
    return 2;
  }
  const first = await createBridge(config);
  const log = first.log;
  const supervisor = new Supervisor(first, { configPath, start: (next) => createBridge(next), log });
  let gui;
  try {
    gui = await startGuiServer({ supervisor, version: version(), log });
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  log.info({ storageFolder: config.storageFolder, receivePort: first.receivePort, gui: gui.url, configPath }, 'DicomBridge running');
  process.stdout.write(`DicomBridge admin GUI: ${gui.url}\n`);
  if (!values.service) openBrowser(gui.url, (err) => log.info({ err: err.message }, 'no browser opened; open the GUI address by hand'));
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`dicombridge: ${err.message}\n`);
    process.exitCode = err.code === 'ERR_CONFIG' ? 78 : 1;
  },
);
