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
  UNIT_DIRECTORY,
  UNIT_NAME,
} from './systemd-unit.js';
import {
  buildWindowsService,
  SERVICE_ARGV_ENV,
  windowsServiceRef,
  type WindowsServiceDefinition,
  type WindowsServiceRef,
} from './windows-service.js';

/** Input of {@link planInstall}. Paths absolute for the target platform. */
export interface InstallOptions {
  readonly platform: NodeJS.Platform;
  /** The node binary (`process.execPath`). */
  readonly execPath: string;
  /** Absolute path of `bin/dicombridge.js` (Linux; Windows runs `windows-entry.js`). */
  readonly scriptPath: string;
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
  /** Windows only, for tests: the entry script instead of the built `windows-entry.js`. */
  readonly windowsEntryPath?: string;
}

/** Input of {@link planUninstall}. */
export interface UninstallOptions {
  readonly platform: NodeJS.Platform;
  readonly unitDirectory?: string;
  readonly windowsEntryPath?: string;
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

/** The Windows side: the service registered through node-windows. */
export type WindowsServicePlan =
  | { readonly platform: 'win32'; readonly action: 'install'; readonly service: WindowsServiceDefinition }
  | { readonly platform: 'win32'; readonly action: 'uninstall'; readonly service: WindowsServiceRef };

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

/**
 * Plans an install. Linux: create the storage and working folders if missing, write
 * `/etc/systemd/system/dicombridge.service`, `systemctl daemon-reload`, `systemctl enable
 * --now dicombridge.service`. Windows: register "CRYPE DicomBridge Service" (automatic start,
 * restart on failure) running `-s --config <path>`, then start it.
 * @throws ServiceError `invalid-option` (relative or missing path, bad user name),
 *   `unsupported-platform`.
 */
export function planInstall(options: InstallOptions): ServicePlan {
  const configPath = requireConfigPath(options.configPath);
  if (options.platform === 'win32') {
    return {
      platform: 'win32',
      action: 'install',
      service: buildWindowsService({
        execPath: options.execPath,
        configPath,
        workingDirectory: options.workingDirectory,
        entryPath: options.windowsEntryPath,
      }),
    };
  }
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
 * remove the unit file, `systemctl daemon-reload`; Windows stop and remove the service.
 * The storage folder and the configuration are left alone.
 */
export function planUninstall(options: UninstallOptions): ServicePlan {
  if (options.platform === 'win32') {
    return { platform: 'win32', action: 'uninstall', service: windowsServiceRef(options.windowsEntryPath) };
  }
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

/**
 * The `--dry-run` text. Linux: the steps as `#` comment lines, then (install) the unit file,
 * so `dicombridge -i --dry-run > x.service` gives a file `systemd-analyze verify` accepts;
 * for uninstall only comment lines. Windows: the service definition in plain lines.
 */
export function formatPlan(plan: ServicePlan): string {
  const flag = plan.action === 'install' ? '-i' : '-u';
  if (plan.platform === 'linux') {
    const lines = [`# dicombridge ${flag} --dry-run: run as root, it would`];
    plan.steps.forEach((step, i) => lines.push(`#   ${i + 1}. ${describeStep(step)}`));
    const head = `${lines.join('\n')}\n`;
    return plan.unitText === undefined ? head : `${head}\n${plan.unitText}`;
  }
  if (plan.action === 'uninstall') {
    return [
      `dicombridge -u --dry-run: from an elevated prompt, it would stop and remove the Windows service`,
      `  name:        ${plan.service.name} (key ${plan.service.id})`,
      `  script:      ${plan.service.script}`,
      '',
    ].join('\n');
  }
  const s = plan.service;
  return [
    `dicombridge -i --dry-run: from an elevated prompt, it would register and start the Windows service`,
    `  name:        ${s.name} (key ${s.id})`,
    `  description: ${s.description}`,
    `  program:     ${cmdWord(s.execPath)} ${cmdWord(s.script)}`,
    `  arguments:   ${s.args.map(cmdWord).join(' ')} (handed over in ${SERVICE_ARGV_ENV})`,
    `  folder:      ${s.workingDirectory}`,
    `  start type:  ${s.startType}`,
    `  on failure:  restart after ${s.restart.waitSeconds} s (growing by ${s.restart.grow * 100}%, at most ${s.restart.maxRestartsPerMinute} per minute)`,
    `  on stop:     graceful, forced after ${s.stopTimeoutSeconds} s`,
    '',
  ].join('\n');
}

