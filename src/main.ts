/**
 * The `dicombridge` command (SPEC §6): parses argv, picks the mode, nothing else.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createBridge } from './app.js';
import { runEcho } from './bridge/send/echo-command.js';
import { loadConfig } from './config/load.js';

const USAGE = `Usage: dicombridge [options]
       dicombridge echo [--config PATH]

  (no option)        run in the foreground
  -s, --service      service mode in the foreground (no browser window), until SIGTERM/Ctrl-C
  echo               send a C-ECHO to the configured PACS (send.*); exit code 0 on success
  --config PATH      the JSON configuration file (default: built-in defaults)
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
  if (positionals[0] === 'echo') return runEcho(await loadConfig(values.config), process.stdout);
  if (values.install || values.uninstall) {
    process.stderr.write('dicombridge: installing as an operating-system service is not available in this version; run with -s under your service manager.\n');
    return 2;
  }
  const config = await loadConfig(values.config);
  const bridge = await createBridge(config);
  bridge.log.info({ storageFolder: config.storageFolder, receivePort: bridge.receivePort }, 'DicomBridge running');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      bridge.log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await bridge.stop();
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
