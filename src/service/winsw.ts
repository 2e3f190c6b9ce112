/**
 * The Windows service "CRYPE DicomBridge Service" (SPEC §6, vendor manual §3.2.1), hosted by
 * WinSW 1.17 (its .NET executable travels inside dicombridge.exe as the SEA asset `winsw.exe`).
 *
 * Why a host at all: a Windows service must answer the Service Control Manager (start/stop
 * control codes, status reports); a plain `dicombridge.exe` registered with `sc.exe create`
 * never does, so the SCM kills it after 30 s (error 1053). WinSW is that host, configured by an
 * XML file beside its (renamed) executable, which it finds by its own base name. We write the
 * XML ourselves (this file, pure) instead of going through node-windows: node-windows wraps
 * `node script.js` and cannot run a single executable with arguments.
 *
 * What WinSW 1.17 does with this XML (read in its source, tag v1.17, ServiceDescriptor.cs and
 * Main.cs), and what follows for us:
 * - `<argument>` elements are joined with spaces; one holding a space is put in double quotes
 *   (unless it already starts and ends with one), nothing else is escaped. So an argument
 *   must hold no `"` and must not end in `\` (it would escape the closing quote).
 * - Every element's text goes through `ExpandEnvironmentVariables`: `%NAME%` would expand, so
 *   paths with `%` are refused.
 * - `<stoptimeout>` and `<waithint>` are read relative to the document's FIRST node: the XML
 *   must start directly with `<service>` (no `<?xml?>` declaration, no comment before it),
 *   otherwise the stop timeout silently falls back to 15 s.
 * - A stop attaches to the bridge's console and sends Ctrl+C (`stopparentprocessfirst`: the
 *   bridge first, then any child), waits `stoptimeout`, then kills. The bridge treats Ctrl+C
 *   (SIGINT) and Ctrl+Break (SIGBREAK) like SIGTERM: a graceful stop.
 * - When the bridge exits by itself with a non-zero code WinSW exits with that code and the
 *   SCM applies the `<onfailure>` actions (restart after the given delays; the last repeats).
 * - Commands: `install`, `uninstall`, `start`, `stop`, `status` (prints `NonExistent`,
 *   `Started` or `Stopped`); the exit code is 0 on success, a WMI error code otherwise.
 */
import { win32 } from 'node:path';
import { ServiceError } from './service-error.js';
import { RESTART_DELAY_SECONDS, SERVICE_DISPLAY_NAME, STOP_TIMEOUT_SECONDS } from './systemd-unit.js';

/** The WinSW version dicombridge.exe carries (file version of node-windows@0.1.14's bin/winsw/winsw.exe). */
export const WINSW_VERSION = '1.17.0.0';

/** SEA asset names of the wrapper and of its .NET runtime selection file. */
export const WINSW_ASSET = 'winsw.exe';
export const WINSW_CONFIG_ASSET = 'winsw.exe.config';

/**
 * The service key (WinSW `<id>`). Kept as node-windows derived it from the display name in
 * release 0.1.x, so `dicombridge -u` also removes a service installed by that release.
 */
export const WINDOWS_SERVICE_ID = 'crypedicombridgeservice';

/** The description shown in services.msc. */
export const WINDOWS_SERVICE_DESCRIPTION =
  'Receives DICOM studies from the PACS into the CRYPE inbox folders and sends CRYPE outbox ZIP files to the PACS.';

/** Base name of the renamed wrapper: WinSW reads `<base>.xml` and writes `<base>.out.log` etc. */
export const WRAPPER_BASE_NAME = 'dicombridge-service';

/** Name of the service folder, beside the configuration file. */
export const SERVICE_FOLDER_NAME = 'service';

/** Restart delays after the 1st, 2nd and later failures (the SCM repeats the last). */
export const RESTART_DELAYS_SECONDS = [RESTART_DELAY_SECONDS, 30, 60] as const;

/** A day without failure resets the SCM's failure count to the first delay. */
export const RESET_FAILURE_AFTER = '1 day';

const DRIVE_PATH = /^[A-Za-z]:\\/;
const UNC_PATH = /^\\\\[^\\]+\\[^\\]+/;
// eslint-disable-next-line no-control-regex
const BAD_WINDOWS_CHARS = /[\u0000-\u001f"%<>|?*]/;

/**
 * Refuses what the service cannot use: a path without drive or UNC share (the service's
 * working directory is not the installer's), characters no Windows path holds, or `%`, which
 * WinSW would expand (`%VAR%`).
 */
export function checkWindowsPath(what: string, value: string | undefined): string {
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError('invalid-option', `${what} is required (an absolute path such as C:\\CrypeDcm\\dicombridge.json)`);
  }
  const normalized = win32.normalize(value);
  if (!DRIVE_PATH.test(normalized) && !UNC_PATH.test(normalized)) {
    throw new ServiceError('invalid-option', `${what} must be an absolute path with a drive letter or a \\\\server\\share (got ${JSON.stringify(value)})`);
  }
  if (BAD_WINDOWS_CHARS.test(normalized.slice(2))) {
    throw new ServiceError('invalid-option', `${what} holds a character a Windows service path cannot carry (%, ", control characters) (got ${JSON.stringify(value)})`);
  }
  return normalized;
}

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** What the service runs; every path an absolute Windows path. */
export interface WinswServiceOptions {
  /** dicombridge.exe (or node.exe in a development checkout). */
  readonly executable: string;
  /** Words before `-s`: none for dicombridge.exe, the bin script for node.exe. */
  readonly leadingArgs?: readonly string[];
  /** The configuration file passed as `--config`. */
  readonly configPath: string;
  readonly workingDirectory: string;
}

/** The program and arguments the service runs (checked), for the XML and for `--dry-run`. */
export function serviceCommand(options: WinswServiceOptions): { executable: string; args: string[] } {
  const executable = checkWindowsPath('execPath', options.executable);
  const leading = (options.leadingArgs ?? []).map((a) => checkWindowsPath('scriptPath', a));
  const args = [...leading, '-s', '--config', checkWindowsPath('configPath', options.configPath)];
  for (const arg of args) {
    if (arg.endsWith('\\')) throw new ServiceError('invalid-option', `a service argument cannot end with a backslash (got ${JSON.stringify(arg)})`);
  }
  return { executable, args };
}

/**
 * The text of `dicombridge-service.xml` (pure). Starts directly with `<service>` (see the
 * module comment), CRLF line ends as Windows tools expect.
 */
export function buildWinswXml(options: WinswServiceOptions): string {
  const { executable, args } = serviceCommand(options);
  const workingDirectory = checkWindowsPath('workingDirectory', options.workingDirectory);
  const lines = [
    '<service>',
    '  <!-- Written by `dicombridge -i`, removed by `dicombridge -u`: change the installation with those, not here. -->',
    `  <id>${WINDOWS_SERVICE_ID}</id>`,
    `  <name>${escapeXml(SERVICE_DISPLAY_NAME)}</name>`,
    `  <description>${escapeXml(WINDOWS_SERVICE_DESCRIPTION)}</description>`,
    `  <executable>${escapeXml(executable)}</executable>`,
    ...args.map((a) => `  <argument>${escapeXml(a)}</argument>`),
    `  <workingdirectory>${escapeXml(workingDirectory)}</workingdirectory>`,
    '  <startmode>Automatic</startmode>',
    ...RESTART_DELAYS_SECONDS.map((s) => `  <onfailure action="restart" delay="${s} sec"/>`),
    `  <resetfailure>${RESET_FAILURE_AFTER}</resetfailure>`,
    '  <stopparentprocessfirst>true</stopparentprocessfirst>',
    `  <stoptimeout>${STOP_TIMEOUT_SECONDS} sec</stoptimeout>`,
    // The bridge's console output (its log lines) in dicombridge-service.out.log, 8 files of 10 MiB.
    '  <log mode="roll-by-size">',
    '    <sizeThreshold>10240</sizeThreshold>',
    '    <keepFiles>8</keepFiles>',
    '  </log>',
    '</service>',
    '',
  ];
  return lines.join('\r\n');
}

/** Where the wrapper's files go: `<folder of the configuration file>\service\`. */
export function serviceFiles(configPath: string): { folder: string; wrapper: string; wrapperConfig: string; xml: string } {
  const folder = win32.join(win32.dirname(checkWindowsPath('configPath', configPath)), SERVICE_FOLDER_NAME);
  return {
    folder,
    wrapper: win32.join(folder, `${WRAPPER_BASE_NAME}.exe`),
    wrapperConfig: win32.join(folder, `${WRAPPER_BASE_NAME}.exe.config`),
    xml: win32.join(folder, `${WRAPPER_BASE_NAME}.xml`),
  };
}
