/**
 * Carries out a {@link ServicePlan} (SPEC §6, `-i` / `-u`). Rights are checked first and
 * refused with a clear message: root on Linux, an elevated prompt on Windows. The unit file is
 * written atomically (temporary name, fsync, rename, fsync of the folder) so a crash never
 * leaves systemd a half unit. On Windows the WinSW wrapper's files are written beside the
 * configuration and its commands run in order. Commands, assets and waits are injectable for
 * tests (there is no Windows here: the Service Control Manager itself is not exercised).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, win32 } from 'node:path';
import { embeddedAsset } from '../runtime/embedded.js';
import type { LinuxServicePlan, ServicePlan, WindowsFileSource, WindowsServicePlan } from './plan.js';
import { ServiceError } from './service-error.js';
import { STOP_TIMEOUT_SECONDS } from './systemd-unit.js';
import { WINSW_ASSET, WINSW_CONFIG_ASSET, WRAPPER_BASE_NAME } from './winsw.js';

/** Result of one external command. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs an external command without a shell; rejects only when it cannot be started. */
export type RunCommand = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** Injectable effects of {@link executePlan}. */
export interface ExecuteDeps {
  /** Runs `systemctl` / `net` / the WinSW wrapper; default spawns without a shell. */
  readonly run?: RunCommand;
  /** The effective user id; default `process.getuid`. */
  readonly getuid?: () => number;
  /** An asset of the single executable (`winsw.exe`, `winsw.exe.config`); default {@link embeddedAsset}. */
  readonly asset?: (name: string) => Buffer | undefined;
  /** How long `-u` waits for the stopped service (polling `status`); default the stop timeout + 30 s. */
  readonly stopWaitMs?: number;
  /** Pause between polls and between retries of a file still in use; default 1 s. */
  readonly pauseMs?: number;
  /** The file operations of a Windows plan; default node:fs (tests on Linux inject a fake). */
  readonly windowsFiles?: WindowsFiles;
  /** One line per step done, for the console. */
  readonly log?: (line: string) => void;
}

/** The file operations a Windows plan needs (Windows paths). */
export interface WindowsFiles {
  /** Rejects when the file cannot be read. */
  canRead(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  /** Writes atomically (temporary name, flush, rename). */
  write(path: string, bytes: Buffer): Promise<void>;
  /** Names in a folder; [] when it does not exist. */
  list(folder: string): Promise<string[]>;
  /** Removes a file; ENOENT is not an error; EBUSY/EPERM reject (retried by the caller). */
  remove(path: string): Promise<void>;
  /** Removes a folder if empty; never rejects. */
  removeDirIfEmpty(folder: string): Promise<void>;
}

const OUTPUT_CAP_BYTES = 64 * 1024;

/** The default {@link RunCommand}: spawn without a shell, output kept up to 64 KiB each. */
export const runCommand: RunCommand = (command, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < OUTPUT_CAP_BYTES) out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < OUTPUT_CAP_BYTES) err.push(chunk);
      errBytes += chunk.length;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });

/**
 * Performs a plan: checks the rights, then each step in order.
 * @throws ServiceError `needs-root` / `needs-elevation` before anything changes;
 *   `config-missing`, `not-installed`, `already-installed`, `wrapper-missing`,
 *   `command-failed` (with the command's own message).
 */
export async function executePlan(plan: ServicePlan, deps: ExecuteDeps = {}): Promise<void> {
  if (plan.platform === 'linux') await executeLinux(plan, deps);
  else await executeWindows(plan, deps);
}

async function runChecked(run: RunCommand, command: string, args: readonly string[]): Promise<void> {
  const line = [command, ...args].join(' ');
  let result: CommandResult;
  try {
    result = await run(command, args);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ` (${command} not found: is this a systemd system?)` : '';
    throw new ServiceError('command-failed', `could not run \`${line}\`: ${(err as Error).message}${hint}`, { cause: err });
  }
  if (result.exitCode !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(0, 5).join(' / ');
    throw new ServiceError('command-failed', `\`${line}\` failed with exit code ${result.exitCode}${detail ? `: ${detail}` : ''}`);
  }
}

/** Writes a file atomically with the given mode: temp name, fsync, rename, fsync the folder. */
async function writeFileAtomic(path: string, text: string | Buffer, mode: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(text);
      await handle.chmod(mode); // the umask may have narrowed the mode given to open
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** {@link WindowsFiles} on the real file system. */
const nodeWindowsFiles: WindowsFiles = {
  canRead: (path) => access(path, constants.R_OK),
  exists,
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  write: (path, bytes) => writeFileAtomic(path, bytes, 0o644),
  list: (folder) => readdir(folder).catch(() => [] as string[]),
  remove: (path) =>
    unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    }),
  removeDirIfEmpty: (folder) => rmdir(folder).catch(() => undefined),
};

async function executeLinux(plan: LinuxServicePlan, deps: ExecuteDeps): Promise<void> {
  const getuid = deps.getuid ?? process.getuid?.bind(process);
  const uid = getuid ? getuid() : -1;
  if (uid !== 0) {
    const what = plan.action === 'install' ? 'installing' : 'removing';
    throw new ServiceError('needs-root', `${what} a service needs root: run with sudo (sudo dicombridge ${plan.action === 'install' ? '-i' : '-u'} ...)`);
  }
  if (plan.action === 'install' && plan.configPath !== undefined) {
    try {
      await access(plan.configPath, constants.R_OK);
    } catch (err) {
      throw new ServiceError('config-missing', `the configuration file ${plan.configPath} cannot be read: create it before installing the service`, { cause: err });
    }
  }
  if (plan.action === 'uninstall' && !(await exists(plan.unitPath))) {
    throw new ServiceError('not-installed', `dicombridge is not installed as a service: ${plan.unitPath} does not exist`);
  }
  const run = deps.run ?? runCommand;
  const log = deps.log ?? (() => undefined);
  for (const step of plan.steps) {
    switch (step.kind) {
      case 'ensure-directory':
        if (!(await exists(step.path))) {
          await mkdir(step.path, { recursive: true, mode: 0o750 });
          log(`created ${step.path}`);
        }
        break;
      case 'write-unit':
        if (plan.unitText === undefined) throw new TypeError('an install plan carries its unit text');
        await writeFileAtomic(step.path, plan.unitText, step.mode);
        log(`wrote ${step.path}`);
        break;
      case 'remove-unit':
        await unlink(step.path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        log(`removed ${step.path}`);
        break;
      case 'run':
        await runChecked(run, step.command, step.args);
        log(`ran ${[step.command, ...step.args].join(' ')}`);
        break;
    }
  }
}

/** Sleeps; only between polls of an external process's state (the SCM has no event to await here). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a wrapper command; returns its first output line. */
async function runWrapper(run: RunCommand, wrapper: string, command: string): Promise<string> {
  let result: CommandResult;
  try {
    result = await run(wrapper, [command]);
  } catch (err) {
    throw new ServiceError('command-failed', `could not run \`"${wrapper}" ${command}\`: ${(err as Error).message}`, { cause: err });
  }
  if (result.exitCode !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split(/\r?\n/).slice(0, 5).join(' / ');
    throw new ServiceError('command-failed', `\`"${wrapper}" ${command}\` failed with exit code ${result.exitCode}${detail ? `: ${detail}` : ''}`);
  }
  return result.stdout.trim().split(/\r?\n/).pop()?.trim() ?? '';
}

/** Removes a file, retrying while Windows still holds it open (the wrapper exits after the service stops). */
async function removeFile(files: WindowsFiles, path: string, pauseMs: number): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await files.remove(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EBUSY' && code !== 'EPERM') || attempt >= 10) throw err;
      await pause(pauseMs);
    }
  }
}

async function executeWindows(plan: WindowsServicePlan, deps: ExecuteDeps): Promise<void> {
  const run = deps.run ?? runCommand;
  // `net session` lists server sessions and needs an administrator token: exit code 0 = elevated.
  let elevated: boolean;
  try {
    elevated = (await run('net', ['session'])).exitCode === 0;
  } catch {
    elevated = false;
  }
  if (!elevated) {
    const what = plan.action === 'install' ? 'installing' : 'removing';
    throw new ServiceError(
      'needs-elevation',
      `${what} a Windows service needs administrator rights: open Command Prompt with "Run as administrator" and run the command again`,
    );
  }
  const files = deps.windowsFiles ?? nodeWindowsFiles;
  if (plan.configPath !== undefined) {
    try {
      await files.canRead(plan.configPath);
    } catch (err) {
      throw new ServiceError('config-missing', `the configuration file ${plan.configPath} cannot be read: create it before installing the service`, { cause: err });
    }
  }
  // Every asset is looked up before anything is written: all or nothing.
  const getAsset = deps.asset ?? embeddedAsset;
  const contents = new Map<WindowsFileSource, Buffer>([['xml', Buffer.from(plan.xmlText, 'utf8')]]);
  for (const name of [WINSW_ASSET, WINSW_CONFIG_ASSET] as const) {
    const bytes = getAsset(name);
    if (bytes === undefined) {
      throw new ServiceError(
        'wrapper-missing',
        `the Windows service host (WinSW, ${name}) travels inside dicombridge.exe: run \`dicombridge.exe ${plan.action === 'install' ? '-i' : '-u'}\` with the single executable, not from a development checkout`,
      );
    }
    contents.set(name, bytes);
  }
  const log = deps.log ?? (() => undefined);
  const pauseMs = deps.pauseMs ?? 1000;
  const written: string[] = [];
  const wrapper = plan.wrapperPath;
  const removeWritten = async (): Promise<void> => {
    for (const path of written) await removeFile(files, path, pauseMs).catch(() => undefined);
    await files.removeDirIfEmpty(plan.folder);
  };
  for (const step of plan.steps) {
    switch (step.kind) {
      case 'ensure-directory':
        if (!(await files.exists(step.path))) {
          await files.mkdir(step.path);
          log(`created ${step.path}`);
        }
        break;
      case 'write-file':
        await files.write(step.path, contents.get(step.source)!);
        written.push(step.path);
        log(`wrote ${step.path}`);
        break;
      case 'check-status': {
        const status = await runWrapper(run, wrapper, 'status');
        if (step.expect === 'absent' && status !== 'NonExistent') {
          await removeWritten();
          throw new ServiceError('already-installed', `the service "${plan.displayName}" is already installed (${status}): run \`dicombridge -u\` first to reinstall it`);
        }
        if (step.expect === 'present' && status === 'NonExistent') {
          await removeWritten();
          throw new ServiceError('not-installed', `the service "${plan.displayName}" is not installed`);
        }
        break;
      }
      case 'run':
        try {
          await runWrapper(run, wrapper, step.command);
        } catch (err) {
          if (step.command === 'install') await removeWritten();
          if (step.command === 'start') {
            throw new ServiceError('command-failed', `the service "${plan.displayName}" is installed but did not start: ${(err as Error).message}. See ${plan.folder}\\${WRAPPER_BASE_NAME}.err.log and the Windows event log; \`dicombridge -u\` removes it`, { cause: err });
          }
          throw err;
        }
        log(`ran "${wrapper}" ${step.command}`);
        break;
      case 'stop-and-wait': {
        if ((await runWrapper(run, wrapper, 'status')) !== 'Started') break;
        await runWrapper(run, wrapper, 'stop');
        log(`ran "${wrapper}" stop`);
        const deadline = Date.now() + (deps.stopWaitMs ?? (STOP_TIMEOUT_SECONDS + 30) * 1000);
        while ((await runWrapper(run, wrapper, 'status')) !== 'Stopped') {
          if (Date.now() > deadline) {
            throw new ServiceError('command-failed', `the service "${plan.displayName}" did not stop in time; stop it in services.msc, then run \`dicombridge -u\` again`);
          }
          await pause(pauseMs);
        }
        log(`the service "${plan.displayName}" stopped`);
        break;
      }
      case 'remove-files': {
        const names = (await files.list(step.folder)).filter((n) => n.startsWith(`${WRAPPER_BASE_NAME}.`));
        for (const name of names) await removeFile(files, win32.join(step.folder, name), pauseMs);
        await files.removeDirIfEmpty(step.folder); // kept when something else lives there
        log(`removed ${step.folder}\\${WRAPPER_BASE_NAME}.*`);
        break;
      }
    }
  }
}
