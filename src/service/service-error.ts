/**
 * The one error class of service installation (SPEC §6, `-i` / `-u`). An administrator must
 * act on it (use sudo, an elevated prompt, an absolute path), so the message says what to do;
 * `code` and `reason` are stable so the CLI branches on them, never on the text.
 */

/** Why an install or uninstall was refused or failed. */
export type ServiceErrorReason =
  | 'invalid-option'
  | 'unsupported-platform'
  | 'needs-root'
  | 'needs-elevation'
  | 'config-missing'
  | 'not-installed'
  | 'already-installed'
  | 'wrapper-missing'
  | 'command-failed';

/**
 * A refused or failed service install/uninstall. `reason` tells the rights problems
 * (`needs-root`, `needs-elevation`: exit code 77, EX_NOPERM) from bad options and failed steps.
 */
export class ServiceError extends Error {
  readonly code = 'ERR_SERVICE' as const;
  readonly reason: ServiceErrorReason;
  constructor(reason: ServiceErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceError';
    this.reason = reason;
  }
}
