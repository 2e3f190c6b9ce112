/**
 * The systemd unit that runs `dicombridge -s` at boot on Linux (SPEC §6, `-i`).
 *
 * Why no library: the npm packages that write systemd units (e.g. generators for PM2 or
 * "node-linux") emit a bare unit without hardening, and none quotes paths by systemd's rules.
 * A unit is a dozen fixed lines, so it is built here as pure text; what needs care is the
 * escaping, which follows systemd.syntax(7), systemd.service(5) "Command lines" and
 * systemd.unit(5) "Specifiers":
 * - `%` starts a specifier in almost every setting: written `%%`;
 * - in `ExecStart=`, words split on whitespace, double quotes group, C escapes apply inside
 *   quotes, and `$` expands environment variables: written `$$`;
 * - path lists (`ReadWritePaths=`) split on whitespace and unquote, but do not expand `$`;
 * - `WorkingDirectory=` takes the rest of the line verbatim (only specifiers expand).
 * Control characters cannot be written safely anywhere, so paths holding them are refused.
 */
import { posix } from 'node:path';
import { ServiceError } from './service-error.js';

/** Name of the unit; `systemctl status dicombridge` finds it. */
export const UNIT_NAME = 'dicombridge.service';

/** Where administrators' own units live (systemd.unit(5), "Unit File Load Path"). */
export const UNIT_DIRECTORY = '/etc/systemd/system';

/** The display name required by the vendor manual (§3.2), used on both platforms. */
export const SERVICE_DISPLAY_NAME = 'CRYPE DicomBridge Service';

/** Seconds systemd waits after SIGTERM before SIGKILL: room for in-flight C-STOREs to finish. */
export const STOP_TIMEOUT_SECONDS = 60;

/** Seconds between a crash and the restart. */
export const RESTART_DELAY_SECONDS = 5;

/** Exit code of `dicombridge` for an invalid configuration (EX_CONFIG): restarting cannot help. */
export const CONFIG_ERROR_EXIT_CODE = 78;

/** What the unit needs to know; every path absolute (POSIX). */
export interface SystemdUnitOptions {
  /** The program: the single executable `dicombridge`, or the node binary (`process.execPath`). */
  readonly execPath: string;
  /** `bin/dicombridge.js` when `execPath` is node; undefined for the single executable. */
  readonly scriptPath?: string;
  /** The JSON configuration file passed as `--config`. */
  readonly configPath: string;
  /** The service's working directory. */
  readonly workingDirectory: string;
  /** `storageFolder` of the configuration: inboxes, outboxes, logs, log book. */
  readonly storageFolder: string;
  /** Runs as this user when given, otherwise as root. */
  readonly user?: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const SAFE_WORD = /^[A-Za-z0-9_@+=:,./-]+$/;
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** Refuses a path systemd cannot take: relative, control characters, edge whitespace. */
export function checkUnitPath(what: string, value: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError('invalid-option', `${what} is required (an absolute path)`);
  }
  if (!posix.isAbsolute(value)) {
    throw new ServiceError('invalid-option', `${what} must be an absolute path (got ${JSON.stringify(value)})`);
  }
  if (CONTROL_CHARS.test(value) || value.trim() !== value) {
    throw new ServiceError(
      'invalid-option',
      `${what} cannot be written into a systemd unit: control characters or leading/trailing spaces (got ${JSON.stringify(value)})`,
    );
  }
  return posix.normalize(value);
}

function escapeInQuotes(text: string): string {
  return text.replace(/[\\"]/g, (c) => `\\${c}`);
}

/** One `ExecStart=` word: `%` → `%%`, `$` → `$$`, double-quoted with C escapes when not plain. */
export function quoteExecWord(word: string): string {
  if (CONTROL_CHARS.test(word)) {
    throw new ServiceError('invalid-option', `cannot write a control character into ExecStart= (got ${JSON.stringify(word)})`);
  }
  if (SAFE_WORD.test(word)) return word;
  const escaped = escapeInQuotes(word).replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/** One entry of a path-list setting (`ReadWritePaths=`): `%` → `%%`, quoted when not plain. */
export function quotePathListEntry(entry: string): string {
  if (CONTROL_CHARS.test(entry)) {
    throw new ServiceError('invalid-option', `cannot write a control character into a path list (got ${JSON.stringify(entry)})`);
  }
  if (SAFE_WORD.test(entry)) return entry;
  return `"${escapeInQuotes(entry).replace(/%/g, '%%')}"`;
}

/** A verbatim setting value (`WorkingDirectory=`): only specifiers need escaping. */
function escapeVerbatim(value: string): string {
  return value.replace(/%/g, '%%');
}

/** Refuses a user name that is not a plain POSIX login name (systemd.exec(5), `User=`). */
export function checkUserName(user: string): string {
  if (!USER_NAME.test(user)) {
    throw new ServiceError('invalid-option', `user must be a plain login name such as "dicombridge" (got ${JSON.stringify(user)})`);
  }
  if (user === 'root') {
    throw new ServiceError('invalid-option', 'user "root" is the default: leave the user out instead');
  }
  return user;
}

/** True when `inner` is `outer` or lies below it. */
function isWithin(outer: string, inner: string): boolean {
  const rel = posix.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}

/**
 * The folders the service may write, under `ProtectSystem=strict`: the storage folder and the
 * configuration file's folder (the GUI's Save replaces the file by an atomic rename in it).
 * A folder inside another listed one is dropped.
 */
export function writablePaths(storageFolder: string, configPath: string): string[] {
  const candidates = [storageFolder, posix.dirname(configPath)];
  const kept: string[] = [];
  for (const path of candidates) {
    if (kept.some((k) => isWithin(k, path))) continue;
    for (let i = kept.length - 1; i >= 0; i -= 1) if (isWithin(path, kept[i])) kept.splice(i, 1);
    kept.push(path);
  }
  return kept;
}

/**
 * Builds the text of `dicombridge.service`. `ExecStart=` runs the single executable itself
 * (`/opt/dicombridge/dicombridge -s --config ...`) or, in a development checkout, node and the
 * bin script. Type=simple: the bridge does not speak sd_notify.
 * Hardening keeps the one privilege it needs, binding port 104 (< 1024): as root that needs
 * nothing; as a `User=` it gets `CAP_NET_BIND_SERVICE` as ambient capability. `DynamicUser=`
 * is not used: its ids change between boots and cannot own a fixed storage folder.
 * `MemoryDenyWriteExecute=` is not used: V8's JIT needs writable+executable pages.
 * Paths in `ReadWritePaths=` carry the `-` prefix so a missing folder does not stop the
 * namespace setup (exit 226); the bridge then reports the unwritable folder itself.
 */
export function buildSystemdUnit(options: SystemdUnitOptions): string {
  const execPath = checkUnitPath('execPath', options.execPath);
  const scriptPath = options.scriptPath === undefined ? undefined : checkUnitPath('scriptPath', options.scriptPath);
  const configPath = checkUnitPath('configPath', options.configPath);
  const workingDirectory = checkUnitPath('workingDirectory', options.workingDirectory);
  const storageFolder = checkUnitPath('storageFolder', options.storageFolder);
  const user = options.user === undefined ? undefined : checkUserName(options.user);

  const program = scriptPath === undefined ? [execPath] : [execPath, scriptPath];
  const execStart = [...program, '-s', '--config', configPath].map(quoteExecWord).join(' ');
  const readWrite = writablePaths(storageFolder, configPath)
    .map((p) => quotePathListEntry(`-${p}`))
    .join(' ');

  const lines = [
    '# CRYPE DicomBridge, written by `dicombridge -i`; remove with `dicombridge -u`.',
    '# Local changes belong in `systemctl edit dicombridge` (a drop-in), not in this file.',
    '[Unit]',
    `Description=${SERVICE_DISPLAY_NAME}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execStart}`,
    `WorkingDirectory=${escapeVerbatim(workingDirectory)}`,
    'Restart=on-failure',
    `RestartSec=${RESTART_DELAY_SECONDS}`,
    `RestartPreventExitStatus=${CONFIG_ERROR_EXIT_CODE}`,
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}`,
    'SyslogIdentifier=dicombridge',
  ];
  if (user !== undefined) {
    lines.push(
      `User=${user}`,
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
    );
  }
  lines.push(
    'UMask=0027',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${readWrite}`,
    'ProtectHome=read-only',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectHostname=yes',
    'ProtectClock=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  );
  return lines.join('\n');
}
