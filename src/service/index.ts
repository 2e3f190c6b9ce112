/**
 * Install / uninstall as an operating-system service (SPEC §6, `-i`, `-u`, `--dry-run`):
 * the API `main.ts` uses. Plan (pure), print (`formatPlan`) or carry out (`executePlan`).
 */
export { executePlan, runCommand, type CommandResult, type ExecuteDeps, type RunCommand, type WindowsFiles } from './execute.js';
export {
  formatPlan,
  planInstall,
  planUninstall,
  type InstallOptions,
  type LinuxServicePlan,
  type LinuxStep,
  type ServicePlan,
  type UninstallOptions,
  type WindowsServicePlan,
  type WindowsStep,
} from './plan.js';
export { ServiceError, type ServiceErrorReason } from './service-error.js';
export { SERVICE_DISPLAY_NAME, UNIT_DIRECTORY, UNIT_NAME } from './systemd-unit.js';
export { buildWinswXml, WINDOWS_SERVICE_ID, WINSW_ASSET, WINSW_CONFIG_ASSET, WINSW_VERSION } from './winsw.js';
