/**
 * The script node-windows' wrapper runs as "CRYPE DicomBridge Service". That wrapper forks
 * its script without arguments and stops it with an IPC message, so this entry restores the
 * CLI arguments from the environment (`-s --config <path>`, set at install) and maps the
 * stop message onto SIGTERM before loading the ordinary CLI. Nothing else differs from
 * `dicombridge -s`.
 */
import { forwardShutdownMessage, serviceArgvFromEnv } from './windows-service.js';

const args = serviceArgvFromEnv(process.env) ?? ['-s'];
process.argv.splice(2, process.argv.length - 2, ...args);
forwardShutdownMessage(process);
await import('../main.js');
