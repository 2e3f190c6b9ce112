/**
 * Carries out a {@link ServicePlan} (SPEC §6, `-i` / `-u`). Rights are checked first and
 * refused with a clear message: root on Linux, an elevated prompt on Windows. The unit file is
 * written atomically (temporary name, fsync, rename, fsync of the folder) so a crash never
 * leaves systemd a half unit. Commands and the node-windows library are injectable for tests.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LinuxServicePlan, ServicePlan, WindowsServicePlan } from './plan.js';
import { ServiceError } from './service-error.js';
import {
  installWindowsService,
  loadNodeWindows,
  uninstallWindowsService,
  type NodeWindowsModule,
} from './windows-service.js';

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
  /** Runs `systemctl` / `net`; default spawns without a shell. */
  readonly run?: RunCommand;
  /** The effective user id; default `process.getuid`. */
  readonly getuid?: () => number;
  /** Loads node-windows; default a lazy `import('node-windows')`. */
  readonly loadNodeWindows?: () => Promise<NodeWindowsModule>;
  /** Bound on each node-windows step (install, start, uninstall); default 120 s. */
  readonly windowsTimeoutMs?: number;
  /** One line per step done, for the console. */
  readonly log?: (line: string) => void;
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
 *   `config-missing`, `not-installed`, `already-installed`, `library-missing`,
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
async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
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
  const lib = await (deps.loadNodeWindows ?? loadNodeWindows)();
  const log = deps.log ?? (() => undefined);
  if (plan.action === 'install') {
    await installWindowsService(plan.service, lib, deps.windowsTimeoutMs);
    log(`installed and started the Windows service "${plan.service.name}"`);
  } else {
    await uninstallWindowsService(plan.service, lib, deps.windowsTimeoutMs);
    log(`removed the Windows service "${plan.service.name}"`);
  }
}
