/**
 * The `dicombridge` command (SPEC §6): parses argv, picks the mode, nothing else.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runEcho } from './bridge/send/echo-command.js';
import { runInspect } from './cli/inspect-command.js';
import { runBridge } from './cli/run.js';
import { runServiceCommand } from './cli/service-command.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load.js';
// Part of the module graph, so the single executable carries it (bundled) and reads no file for it.
import pkg from '../package.json' with { type: 'json' };

const USAGE = `Usage: dicombridge [-s] [--config PATH]
       dicombridge -i | -u [--dry-run] [--config PATH] [--user NAME]
       dicombridge echo [--config PATH]
       dicombridge inspect FILE|DIR [--json] [--config PATH]

  (no option)        run in the foreground and open the admin GUI in the browser
  -s, --service      service mode in the foreground (GUI served, no browser window), until SIGTERM/Ctrl-C
  -i, --install      install as an operating-system service started at boot (systemd unit on
                     Linux, Windows service "CRYPE DicomBridge Service"); needs root / an
                     elevated prompt and an existing --config file
  -u, --uninstall    remove that service
  --dry-run          with -i/-u: print what would be installed or removed, change nothing
  --user NAME        with -i on Linux: run the service as this user instead of root
  echo               send a C-ECHO to the configured PACS (send.*); exit code 0 on success
  inspect FILE|DIR   show, per study, what the bridge would do with these DICOM files: naming
                     attributes, CRYPE IDs in the configured tag, CRID# text in any other
                     element (and what to set), the ZIP name and the inbox; exit code 0 when
                     every study would go to Inbox_Auto, 1 otherwise, 2 on errors
  --json             with inspect: the report as JSON
  --config PATH      the JSON configuration file (default: ./dicombridge.json if it exists,
                     else the built-in defaults; the GUI's Save writes it)
  -h, --help         this text
  -v, --version      the product and Node.js versions
`;

function version(): string {
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
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      user: { type: 'string' },
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
    process.stdout.write(`DicomBridge ${version()} (Node.js ${process.version})\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  const valid = command === undefined || (command === 'echo' && rest.length === 0) || (command === 'inspect' && rest.length === 1);
  if (!valid) {
    process.stderr.write(`dicombridge: unknown command or missing argument: ${positionals.join(' ')}\n${USAGE}`);
    return 2;
  }
  const explicit = values.config !== undefined;
  const configPath = path.resolve(values.config ?? DEFAULT_CONFIG_FILE);
  const config = await loadConfig(configPath, { missingOk: !explicit && !values.install });
  if (command === 'echo') return runEcho(config, process.stdout);
  if (command === 'inspect') return runInspect(rest[0]!, config, values.json ?? false);
  if (values.install || values.uninstall) {
    const action = values.install ? 'install' : 'uninstall';
    return runServiceCommand({ action, dryRun: values['dry-run'] ?? false, configPath, config, user: values.user });
  }
  return runBridge({ config, configPath, version: version(), openGui: !values.service });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string; reason?: string }) => {
    process.stderr.write(`dicombridge: ${err.message}\n`);
    // sysexits: 78 configuration error, 77 permission denied (service install without rights).
    if (err.code === 'ERR_CONFIG') process.exitCode = 78;
    else if (err.code === 'ERR_SERVICE' && (err.reason === 'needs-root' || err.reason === 'needs-elevation')) process.exitCode = 77;
    else process.exitCode = 1;
  },
);
