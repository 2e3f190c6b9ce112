/**
 * What `dicombridge -i` / `-u` would do, as data (SPEC §6): planning is pure so `--dry-run`
 * prints exactly what an install performs, and tests check it without root or Windows.
 * {@link executePlan} in `execute.ts` carries a plan out.
 */
import { posix } from 'node:path';
import { ServiceError } from './service-error.js';
import {
  buildSystemdUnit,
  checkUnitPath,
  SERVICE_DISPLAY_NAME,
  UNIT_DIRECTORY,
  UNIT_NAME,
} from './systemd-unit.js';
import {
  buildWinswXml,
  serviceCommand,
  serviceFiles,
  WINDOWS_SERVICE_ID,
  WINSW_ASSET,
  WINSW_CONFIG_ASSET,
  WRAPPER_BASE_NAME,
  type WinswServiceOptions,
} from './winsw.js';
/** Input of {@link planInstall}. Paths absolute for the target platform. */
export interface InstallOptions {
  readonly platform: NodeJS.Platform;
  /** The program: the single executable itself, or the node binary (`process.execPath`). */
  readonly execPath: string;
  /**
   * Absolute path of `bin/dicombridge.js` when `execPath` is node (a development checkout);
   * undefined when `execPath` is the single executable, which runs as `<exe> -s --config ...`.
   */
  readonly scriptPath?: string;
  /** Absolute path of the configuration file; required, as the service has no other way to find it. */
  readonly configPath?: string;
  /** The service's working directory. */
  readonly workingDirectory: string;
  /** `storageFolder` of the loaded configuration (made writable under ProtectSystem=strict). */
  readonly storageFolder: string;
  /** Linux only: run as this user instead of root. */
  readonly user?: string;
  /** Linux only, for tests: folder of the unit file instead of /etc/systemd/system. */
  readonly unitDirectory?: string;
}

/**
 * Input of {@link planUninstall}. On Windows the wrapper is written again before it is asked to
 * remove the service, so the same facts as for an install are needed.
 */
export interface UninstallOptions {
  readonly platform: NodeJS.Platform;
  readonly unitDirectory?: string;
  readonly execPath?: string;
  readonly scriptPath?: string;
  readonly configPath?: string;
  readonly workingDirectory?: string;
}

/** One step of a Linux plan, carried out in order. */
export type LinuxStep =
  | { readonly kind: 'ensure-directory'; readonly path: string }
  | { readonly kind: 'write-unit'; readonly path: string; readonly mode: number }
  | { readonly kind: 'remove-unit'; readonly path: string }
  | { readonly kind: 'run'; readonly command: string; readonly args: readonly string[] };

/** The systemd side: the unit file and the ordered steps. */
export interface LinuxServicePlan {
  readonly platform: 'linux';
  readonly action: 'install' | 'uninstall';
  readonly unitName: string;
  readonly unitPath: string;
  /** The unit file's text (install only). */
  readonly unitText?: string;
  /** The configuration file (install only): checked to exist before anything is written. */
  readonly configPath?: string;
  readonly steps: readonly LinuxStep[];
}

/** What a Windows file step writes: an asset of the executable, or the plan's XML. */
export type WindowsFileSource = typeof WINSW_ASSET | typeof WINSW_CONFIG_ASSET | 'xml';

/** A command of the WinSW wrapper (WinSW 1.x names). */
export type WinswCommand = 'status' | 'install' | 'start' | 'stop' | 'uninstall';

/** One step of a Windows plan, carried out in order. */
export type WindowsStep =
  | { readonly kind: 'ensure-directory'; readonly path: string }
  | { readonly kind: 'write-file'; readonly path: string; readonly source: WindowsFileSource }
  /** `<wrapper> status`; install goes on only on `NonExistent`, uninstall only otherwise. */
  | { readonly kind: 'check-status'; readonly expect: 'absent' | 'present' }
  | { readonly kind: 'run'; readonly command: WinswCommand }
  /** `<wrapper> stop` when `status` says Started, then `status` until Stopped (bounded). */
  | { readonly kind: 'stop-and-wait' }
  /** The wrapper's files and its logs (`dicombridge-service.*`), then the folder if empty. */
  | { readonly kind: 'remove-files'; readonly folder: string };

/** The Windows side: the WinSW wrapper's files beside the configuration, and its commands. */
export interface WindowsServicePlan {
  readonly platform: 'win32';
  readonly action: 'install' | 'uninstall';
  readonly serviceId: string;
  readonly displayName: string;
  /** The folder holding the wrapper, its XML and its logs. */
  readonly folder: string;
  /** The renamed WinSW executable every command runs. */
  readonly wrapperPath: string;
  /** The text of the wrapper's XML. */
  readonly xmlText: string;
  /** What the service runs. */
  readonly command: { readonly executable: string; readonly args: readonly string[] };
  /** The configuration file (install only): checked to exist before anything is written. */
  readonly configPath?: string;
  readonly steps: readonly WindowsStep[];
}

/** What an install or uninstall does on one platform. */
export type ServicePlan = LinuxServicePlan | WindowsServicePlan;

function unsupported(platform: string): ServiceError {
  return new ServiceError(
    'unsupported-platform',
    `installing as a service is supported on Linux (systemd) and Windows, not on ${platform}; run \`dicombridge -s\` under your service manager`,
  );
}

function requireConfigPath(configPath: string | undefined): string {
  if (configPath === undefined || configPath === '') {
    throw new ServiceError('invalid-option', 'a service needs its configuration file: add --config with an absolute path');
  }
  return configPath;
}

/** The Windows plan shared by install and uninstall: the same files, different commands. */
function planWindows(action: 'install' | 'uninstall', options: UninstallOptions): WindowsServicePlan {
  const configPath = requireConfigPath(options.configPath);
  if (options.execPath === undefined || options.workingDirectory === undefined) {
    throw new TypeError('a Windows plan needs execPath and workingDirectory');
  }
  const service: WinswServiceOptions = {
    executable: options.execPath,
    leadingArgs: options.scriptPath === undefined ? [] : [options.scriptPath],
    configPath,
    workingDirectory: options.workingDirectory,
  };
  const command = serviceCommand(service);
  const files = serviceFiles(configPath);
  const writes: WindowsStep[] = [
    { kind: 'ensure-directory', path: files.folder },
    { kind: 'write-file', path: files.wrapper, source: WINSW_ASSET },
    { kind: 'write-file', path: files.wrapperConfig, source: WINSW_CONFIG_ASSET },
    { kind: 'write-file', path: files.xml, source: 'xml' },
  ];
  const steps: WindowsStep[] =
    action === 'install'
      ? [...writes, { kind: 'check-status', expect: 'absent' }, { kind: 'run', command: 'install' }, { kind: 'run', command: 'start' }]
      : [...writes, { kind: 'check-status', expect: 'present' }, { kind: 'stop-and-wait' }, { kind: 'run', command: 'uninstall' }, { kind: 'remove-files', folder: files.folder }];
  return {
    platform: 'win32',
    action,
    serviceId: WINDOWS_SERVICE_ID,
    displayName: SERVICE_DISPLAY_NAME,
    folder: files.folder,
    wrapperPath: files.wrapper,
    xmlText: buildWinswXml(service),
    command,
    configPath: action === 'install' ? command.args[command.args.length - 1] : undefined,
    steps,
  };
}

/**
 * Plans an install. Linux: create the storage and working folders if missing, write
 * `/etc/systemd/system/dicombridge.service`, `systemctl daemon-reload`, `systemctl enable
 * --now dicombridge.service`. Windows: write the WinSW wrapper, its .config and its XML into
 * `<config folder>\service\`, check that no such service exists, `install`, `start`.
 * @throws ServiceError `invalid-option` (relative or missing path, bad user name),
 *   `unsupported-platform`.
 */
export function planInstall(options: InstallOptions): ServicePlan {
  const configPath = requireConfigPath(options.configPath);
  if (options.platform === 'win32') return planWindows('install', options);
  if (options.platform !== 'linux') throw unsupported(options.platform);
  const unitText = buildSystemdUnit({
    execPath: options.execPath,
    scriptPath: options.scriptPath,
    configPath,
    workingDirectory: options.workingDirectory,
    storageFolder: options.storageFolder,
    user: options.user,
  });
  const unitPath = posix.join(checkUnitPath('unitDirectory', options.unitDirectory ?? UNIT_DIRECTORY), UNIT_NAME);
  const folders = [...new Set([posix.normalize(options.storageFolder), posix.normalize(options.workingDirectory)])];
  return {
    platform: 'linux',
    action: 'install',
    unitName: UNIT_NAME,
    unitPath,
    unitText,
    configPath: posix.normalize(configPath),
    steps: [
      ...folders.map((path): LinuxStep => ({ kind: 'ensure-directory', path })),
      { kind: 'write-unit', path: unitPath, mode: 0o644 },
      { kind: 'run', command: 'systemctl', args: ['daemon-reload'] },
      { kind: 'run', command: 'systemctl', args: ['enable', '--now', UNIT_NAME] },
    ],
  };
}

/**
 * Plans an uninstall, the reverse of {@link planInstall}: Linux `systemctl disable --now`,
 * remove the unit file, `systemctl daemon-reload`; Windows write the wrapper again (so a
 * moved or partial service folder does not matter), `stop` and wait, `uninstall`, remove the
 * wrapper's files. The storage folder and the configuration are left alone.
 */
export function planUninstall(options: UninstallOptions): ServicePlan {
  if (options.platform === 'win32') return planWindows('uninstall', options);
  if (options.platform !== 'linux') throw unsupported(options.platform);
  const unitPath = posix.join(checkUnitPath('unitDirectory', options.unitDirectory ?? UNIT_DIRECTORY), UNIT_NAME);
  return {
    platform: 'linux',
    action: 'uninstall',
    unitName: UNIT_NAME,
    unitPath,
    steps: [
      { kind: 'run', command: 'systemctl', args: ['disable', '--now', UNIT_NAME] },
      { kind: 'remove-unit', path: unitPath },
      { kind: 'run', command: 'systemctl', args: ['daemon-reload'] },
    ],
  };
}

/** Quotes a word for a POSIX shell, for display only. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes a word for cmd.exe, for display only. */
function cmdWord(word: string): string {
  return /^[A-Za-z0-9_@+=:,./\\-]+$/.test(word) ? word : `"${word}"`;
}

function describeStep(step: LinuxStep): string {
  switch (step.kind) {
    case 'ensure-directory':
      return `create the folder ${step.path} if missing`;
    case 'write-unit':
      return `write ${step.path} (mode ${step.mode.toString(8).padStart(4, '0')}) with the text below`;
    case 'remove-unit':
      return `remove ${step.path}`;
    case 'run':
      return `run: ${[step.command, ...step.args].map(shellWord).join(' ')}`;
  }
}

function describeWindowsStep(step: WindowsStep, plan: WindowsServicePlan): string {
  const wrapper = cmdWord(plan.wrapperPath);
  switch (step.kind) {
    case 'ensure-directory':
      return `create the folder ${step.path} if missing`;
    case 'write-file':
      return step.source === 'xml'
        ? `write ${step.path} with the text below`
        : `write ${step.path} (WinSW ${step.source}, carried inside dicombridge.exe)`;
    case 'check-status':
      return step.expect === 'absent'
        ? `run: ${wrapper} status   (stop unless it prints NonExistent: the service is already installed)`
        : `run: ${wrapper} status   (stop if it prints NonExistent: nothing to remove)`;
    case 'run':
      return `run: ${wrapper} ${step.command}`;
    case 'stop-and-wait':
      return `run: ${wrapper} stop   (if Started), then ${wrapper} status until it prints Stopped`;
    case 'remove-files':
      return `remove ${step.folder}\\${WRAPPER_BASE_NAME}.* (wrapper, XML, logs), then the folder if empty`;
  }
}

/**
 * The `--dry-run` text. Linux: the steps as `#` comment lines, then (install) the unit file,
 * so `dicombridge -i --dry-run > x.service` gives a file `systemd-analyze verify` accepts;
 * for uninstall only comment lines. Windows: the steps as `rem` lines, then the XML.
 */
export function formatPlan(plan: ServicePlan): string {
  const flag = plan.action === 'install' ? '-i' : '-u';
  if (plan.platform === 'linux') {
    const lines = [`# dicombridge ${flag} --dry-run: run as root, it would`];
    plan.steps.forEach((step, i) => lines.push(`#   ${i + 1}. ${describeStep(step)}`));
    const head = `${lines.join('\n')}\n`;
    return plan.unitText === undefined ? head : `${head}\n${plan.unitText}`;
  }
  const lines = [
    `rem dicombridge ${flag} --dry-run: from an elevated prompt, it would ${plan.action === 'install' ? 'register and start' : 'stop and remove'} the Windows service`,
    `rem   "${plan.displayName}" (key ${plan.serviceId}), which runs: ${[plan.command.executable, ...plan.command.args].map(cmdWord).join(' ')}`,
  ];
  plan.steps.forEach((step, i) => lines.push(`rem   ${i + 1}. ${describeWindowsStep(step, plan)}`));
  return `${lines.join('\r\n')}\r\n\r\n${plan.xmlText}`;
}
