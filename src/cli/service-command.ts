/**
 * `dicombridge -i | -u [--dry-run] [--config PATH] [--user NAME]` (SPEC §6): install
 * or uninstall the operating-system service. Planning is pure (src/service/); this only
 * gathers the facts of this installation and prints or carries out the plan.
 */
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { isSingleExecutable } from '../runtime/embedded.js';
import { executePlan, formatPlan, planInstall, planUninstall, type ServicePlan } from '../service/index.js';

/** Options of runServiceCommand. */
export interface ServiceCommandOptions {
  action: 'install' | 'uninstall';
  dryRun: boolean;
  /** Absolute path of the configuration file the service will use. */
  configPath: string;
  /** The loaded configuration (its storage folder is made writable for the service). */
  config: Config;
  user?: string;
}

/** The bin script that starts the bridge, as installed beside this module. */
export function binScriptPath(): string {
  return fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));
}

/**
 * What the service runs: the single executable itself (`process.execPath`, no script), or in a
 * development checkout node and the bin script.
 */
export function serviceProgram(single: boolean = isSingleExecutable()): { execPath: string; scriptPath?: string } {
  return single ? { execPath: process.execPath } : { execPath: process.execPath, scriptPath: binScriptPath() };
}

/** Prints (dry run) or carries out the plan; resolves with the exit code. */
export async function runServiceCommand(options: ServiceCommandOptions): Promise<number> {
  const facts = {
    platform: process.platform,
    ...serviceProgram(),
    configPath: options.configPath,
    workingDirectory: options.config.storageFolder,
    storageFolder: options.config.storageFolder,
  };
  const plan: ServicePlan = options.action === 'install' ? planInstall({ ...facts, user: options.user }) : planUninstall(facts);
  if (options.dryRun) {
    process.stdout.write(formatPlan(plan));
    return 0;
  }
  await executePlan(plan, { log: (line) => process.stderr.write(`dicombridge: ${line}\n`) });
  return 0;
}
