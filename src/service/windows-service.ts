/**
 * The Windows service "CRYPE DicomBridge Service" (SPEC §6, vendor manual §3.2.1).
 *
 * Why node-windows (optional dependency, exact version 0.1.14, imported lazily on win32 only):
 * a Windows service must answer the Service Control Manager (start/stop control codes,
 * status reports). A plain `node` process registered with `sc.exe create` never does, so the
 * SCM kills it after 30 s with error 1053; writing that protocol needs native code. The usual
 * answer is a host executable; node-windows ships one (WinSW 1.17, a .NET service host, inside
 * the package: nothing is downloaded at install time, the package has no install scripts)
 * and registers it with the SCM, start type automatic. 0.1.14 is its newest stable release
 * (the 1.0.0 betas are incomplete packages). Its weak points, handled here:
 * - its wrapper forks the script WITHOUT arguments, so `-s --config <path>` travels in the
 *   environment variable `DICOMBRIDGE_SERVICE_ARGV` (JSON), and the script is
 *   `windows-entry.js`, which turns that back into argv before loading the CLI;
 * - on a service stop the wrapper (with `stopparentfirst`) sends the IPC message `'shutdown'`
 *   instead of a signal; `windows-entry.js` turns it into the SIGTERM path of the CLI, and
 *   WinSW waits `stoptimeout` seconds before killing;
 * - restart on failure is the wrapper's (wait 2 s, growing by half, at most 5 in 60 s);
 * - its permission failures call `process.exit(1)`, so elevation is checked before
 *   (`net session` fails without it).
 * The alternative, `sc.exe create` around our own host executable, would mean shipping and
 * maintaining a native binary; node-windows is the library STYLE.md names for this.
 */
import { fileURLToPath } from 'node:url';
import { win32 } from 'node:path';
import { ServiceError } from './service-error.js';
import { SERVICE_DISPLAY_NAME, STOP_TIMEOUT_SECONDS } from './systemd-unit.js';

/** Environment variable carrying the CLI arguments of the service process, as a JSON array. */
export const SERVICE_ARGV_ENV = 'DICOMBRIDGE_SERVICE_ARGV';

/** The description shown in services.msc. */
export const WINDOWS_SERVICE_DESCRIPTION =
  'Receives DICOM studies from the PACS into the CRYPE inbox folders and sends CRYPE outbox ZIP files to the PACS.';

/** Exact node-windows version this module was written and tested against (its arguments). */
export const NODE_WINDOWS_VERSION = '0.1.14';

/** The entry script node-windows runs: `windows-entry.js` next to this module. */
export function defaultWindowsEntryPath(): string {
  return fileURLToPath(new URL('./windows-entry.js', import.meta.url));
}

/** node-windows names the service's executable and files after this id (the name, letters only). */
export function windowsServiceId(name: string): string {
  return name.replace(/[^\w]/g, '').toLowerCase();
}

/** Everything registered for the service, shown by `--dry-run` and passed to node-windows. */
export interface WindowsServiceDefinition {
  /** Service (display) name: "CRYPE DicomBridge Service". */
  readonly name: string;
  /** The key node-windows derives from the name: `crypedicombridgeservice`. */
  readonly id: string;
  readonly description: string;
  /** node.exe. */
  readonly execPath: string;
  /** The script node-windows' wrapper forks: `windows-entry.js`. */
  readonly script: string;
  /** The CLI arguments the service runs with: `-s --config <path>`. */
  readonly args: readonly string[];
  /** Environment of the service process (carries `args`). */
  readonly env: Readonly<Record<string, string>>;
  readonly workingDirectory: string;
  readonly startType: 'automatic';
  /** Restart on failure, done by node-windows' wrapper. */
  readonly restart: { readonly waitSeconds: number; readonly grow: number; readonly maxRestartsPerMinute: number };
  /** Seconds between the stop request and a forced kill. */
  readonly stopTimeoutSeconds: number;
}

/** What uninstalling needs: node-windows finds the service by name and script folder. */
export type WindowsServiceRef = Pick<WindowsServiceDefinition, 'name' | 'id' | 'script'>;

const DRIVE_PATH = /^[A-Za-z]:\\/;
const UNC_PATH = /^\\\\[^\\]+\\[^\\]+/;
// eslint-disable-next-line no-control-regex
const BAD_WINDOWS_CHARS = /[\u0000-\u001f"%<>|?*]/;

/**
 * Refuses what the service cannot use: a path without drive or UNC share (the service's
 * working directory is not the installer's), or characters WinSW would expand (`%VAR%`).
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

/** Options of {@link buildWindowsService}; paths absolute Windows paths. */
export interface WindowsServiceOptions {
  readonly execPath: string;
  readonly configPath: string;
  readonly workingDirectory: string;
  /** Defaults to {@link defaultWindowsEntryPath}. */
  readonly entryPath?: string;
}

/** Builds the service definition (pure). */
export function buildWindowsService(options: WindowsServiceOptions): WindowsServiceDefinition {
  const configPath = checkWindowsPath('configPath', options.configPath);
  const args = ['-s', '--config', configPath];
  return {
    name: SERVICE_DISPLAY_NAME,
    id: windowsServiceId(SERVICE_DISPLAY_NAME),
    description: WINDOWS_SERVICE_DESCRIPTION,
    execPath: checkWindowsPath('execPath', options.execPath),
    script: checkWindowsPath('entryPath', options.entryPath ?? defaultWindowsEntryPath()),
    args,
    env: { [SERVICE_ARGV_ENV]: JSON.stringify(args) },
    workingDirectory: checkWindowsPath('workingDirectory', options.workingDirectory),
    startType: 'automatic',
    restart: { waitSeconds: 2, grow: 0.5, maxRestartsPerMinute: 5 },
    stopTimeoutSeconds: STOP_TIMEOUT_SECONDS,
  };
}

/** Builds the reference used to uninstall (pure). */
export function windowsServiceRef(entryPath?: string): WindowsServiceRef {
  return {
    name: SERVICE_DISPLAY_NAME,
    id: windowsServiceId(SERVICE_DISPLAY_NAME),
    script: checkWindowsPath('entryPath', entryPath ?? defaultWindowsEntryPath()),
  };
}

/** The subset of node-windows' `Service` constructor options this module sets. */
export interface NodeWindowsServiceConfig {
  name: string;
  description?: string;
  script: string;
  execPath?: string;
  nodeOptions?: string;
  env?: { name: string; value: string }[];
  wait?: number;
  grow?: number;
  maxRestarts?: number;
  stopparentfirst?: boolean;
  stoptimeout?: number;
}

/** The subset of a node-windows `Service` object this module uses (an EventEmitter). */
export interface NodeWindowsService {
  workingdirectory: string;
  install(): void;
  uninstall(waitSeconds?: number): void;
  start(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The subset of the node-windows module this module uses; tests inject a fake. */
export interface NodeWindowsModule {
  Service: new (config: NodeWindowsServiceConfig) => NodeWindowsService;
}

/** The constructor options passed to node-windows for a definition (pure, unit-tested). */
export function nodeWindowsConfig(def: WindowsServiceDefinition | WindowsServiceRef): NodeWindowsServiceConfig {
  if (!('args' in def)) return { name: def.name, script: def.script };
  return {
    name: def.name,
    description: def.description,
    script: def.script,
    execPath: def.execPath,
    nodeOptions: '--enable-source-maps',
    env: Object.entries(def.env).map(([name, value]) => ({ name, value })),
    wait: def.restart.waitSeconds,
    grow: def.restart.grow,
    maxRestarts: def.restart.maxRestartsPerMinute,
    stopparentfirst: true,
    stoptimeout: def.stopTimeoutSeconds,
  };
}

/** Imports node-windows (CommonJS) on demand; a clear error when the optional package is absent. */
export async function loadNodeWindows(): Promise<NodeWindowsModule> {
  const specifier = 'node-windows';
  let mod: { default?: NodeWindowsModule } & Partial<NodeWindowsModule>;
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    throw new ServiceError(
      'library-missing',
      `the optional package node-windows@${NODE_WINDOWS_VERSION} is not installed: run \`npm install\` in the DicomBridge folder on Windows`,
      { cause: err },
    );
  }
  const lib = mod.default ?? (mod as NodeWindowsModule);
  if (typeof lib.Service !== 'function') {
    throw new ServiceError('library-missing', 'the installed node-windows package has no Service class');
  }
  return lib;
}

/** Waits for the first of the given node-windows events; bounded so a silent failure cannot hang. */
function waitForEvent(
  svc: NodeWindowsService,
  outcomes: Readonly<Record<string, ServiceError | null>>,
  timeoutMs: number,
  what: string,
  action: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const listeners = new Map<string, (...args: unknown[]) => void>();
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      for (const [event, listener] of listeners) svc.removeListener(event, listener);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new ServiceError('command-failed', `${what} did not finish within ${Math.round(timeoutMs / 1000)} s; check services.msc and the Windows event log`)),
      timeoutMs,
    );
    for (const [event, outcome] of Object.entries(outcomes)) {
      const listener = (...args: unknown[]) => {
        if (event === 'error') {
          finish(new ServiceError('command-failed', `${what} failed: ${String(args[0])}`, { cause: args[0] }));
        } else {
          finish(outcome);
        }
      };
      listeners.set(event, listener);
      svc.on(event, listener);
    }
    try {
      action();
    } catch (err) {
      finish(new ServiceError('command-failed', `${what} failed: ${(err as Error).message}`, { cause: err }));
    }
  });
}

/** Registers the service with the SCM through node-windows, then starts it. */
export async function installWindowsService(
  def: WindowsServiceDefinition,
  lib: NodeWindowsModule,
  timeoutMs = 120_000,
): Promise<void> {
  const svc = new lib.Service(nodeWindowsConfig(def));
  svc.workingdirectory = def.workingDirectory;
  await waitForEvent(
    svc,
    {
      install: null,
      error: null,
      alreadyinstalled: new ServiceError('already-installed', `the service "${def.name}" is already installed: run \`dicombridge -u\` first to reinstall it`),
      invalidinstallation: new ServiceError('already-installed', `a broken installation of "${def.name}" exists: run \`dicombridge -u\` first`),
    },
    timeoutMs,
    `installing the service "${def.name}"`,
    () => svc.install(),
  );
  await waitForEvent(svc, { start: null, error: null }, timeoutMs, `starting the service "${def.name}"`, () => svc.start());
}

/** Stops and removes the service through node-windows. */
export async function uninstallWindowsService(
  ref: WindowsServiceRef,
  lib: NodeWindowsModule,
  timeoutMs = 120_000,
): Promise<void> {
  const svc = new lib.Service(nodeWindowsConfig(ref));
  await waitForEvent(
    svc,
    {
      uninstall: null,
      error: null,
      alreadyuninstalled: new ServiceError('not-installed', `the service "${ref.name}" is not installed`),
    },
    timeoutMs,
    `removing the service "${ref.name}"`,
    () => svc.uninstall(),
  );
}

/**
 * The CLI arguments of the service process, read back from {@link SERVICE_ARGV_ENV}; undefined
 * when the variable is absent. A malformed value is refused: the service must not silently
 * start with the built-in defaults instead of its configuration.
 */
export function serviceArgvFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const raw = env[SERVICE_ARGV_ENV];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ServiceError('invalid-option', `${SERVICE_ARGV_ENV} is not valid JSON`, { cause: err });
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new ServiceError('invalid-option', `${SERVICE_ARGV_ENV} must be a JSON array of strings`);
  }
  return parsed as string[];
}

/** The part of `process` that {@link forwardShutdownMessage} touches. */
export interface ShutdownMessageTarget {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  emit(event: 'SIGTERM', signal: 'SIGTERM'): boolean;
  channel?: { unref(): void } | undefined;
}

/**
 * Turns node-windows' `'shutdown'` IPC message into the CLI's SIGTERM path (graceful stop),
 * and unrefs the IPC channel so it never keeps a stopped bridge alive.
 */
export function forwardShutdownMessage(proc: ShutdownMessageTarget): void {
  proc.channel?.unref();
  proc.on('message', (message) => {
    if (message === 'shutdown') proc.emit('SIGTERM', 'SIGTERM');
  });
}
