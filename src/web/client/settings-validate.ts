/**
 * Field-level validation while typing: a short pause after a change asks the server
 * (POST /api/settings/validate) and shows its rule text beside each field. Only the answer to
 * the latest request counts.
 */
import { sendJson, type ErrorBody, type FieldError } from './api.js';
import { errorsOf, type SettingsForm } from './settings-form.js';

const VALIDATE_DELAY_MS = 300;

/** Debounced validation of the form by the server. */
export class SettingsValidation {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  constructor(private readonly form: SettingsForm) {}

  /** Validates after a short pause (restarted by every call). */
  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.validate();
    }, VALIDATE_DELAY_MS);
  }

  /** Drops a pending validation; answers to requests already sent are ignored. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.seq += 1;
  }

  private async validate(): Promise<void> {
    const seq = ++this.seq;
    const form = this.form;
    try {
      const result = await sendJson<{ errors?: FieldError[] } & ErrorBody>('POST', '/api/settings/validate', { settings: form.collect() });
      if (seq !== this.seq || !result.ok) return;
      const unplaced = form.showErrors(errorsOf(result.body));
      if (unplaced.length > 0) {
        form.setMessage(unplaced.map((e) => e.text).join(' '), 'failed');
        form.messageFromValidation = true;
      } else if (form.messageFromValidation) {
        form.setMessage('');
      }
    } catch {
      // Unreachable bridge: the status strip already says so; Save will report it.
    }
  }
}
