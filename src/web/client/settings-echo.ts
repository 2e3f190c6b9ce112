/**
 * "Send DICOM Echo" (SPEC §7): a C-ECHO to the PACS with the values in the form (saved or
 * not), reporting success with the round trip or the exact reason of failure. The `send.tls.*`
 * fields go along when the form has them; otherwise the bridge uses the saved ones.
 */
import { sendJson, type EchoResponse, type ErrorBody } from './api.js';
import { formatMs } from './format.js';
import { controlValue, errorsOf, type SettingsForm } from './settings-form.js';
import { ECHO_KEYS, FIELDS } from './settings-fields.js';

/** The `send.tls` settings an echo uses (SPEC §5), sent when the form shows them. */
const ECHO_TLS_KEYS = ['enabled', 'caFile', 'certFile', 'keyFile'] as const;

/** Sends the echo and shows its result beside the button. */
export async function sendEcho(form: SettingsForm): Promise<void> {
  const { echoButton, echoResult, controls } = form.ui;
  const send: Record<string, unknown> = {};
  for (const name of ECHO_KEYS) {
    const def = FIELDS.find((d) => d.key === `send.${name}`);
    const control = controls.get(`send.${name}`);
    if (def !== undefined && control !== undefined) send[name] = controlValue(def, control);
  }
  const tls: Record<string, unknown> = {};
  for (const name of ECHO_TLS_KEYS) {
    const def = FIELDS.find((d) => d.key === `send.tls.${name}`);
    const control = controls.get(`send.tls.${name}`);
    if (def !== undefined && control !== undefined) tls[name] = controlValue(def, control);
  }
  if (Object.keys(tls).length > 0) send.tls = tls;
  echoButton.disabled = true;
  echoResult.textContent = 'Sending C-ECHO…';
  echoResult.classList.remove('ok', 'failed');
  echoResult.classList.add('pending');
  // Only the echo fields' errors are about this action; others stay as they are.
  for (const name of ECHO_KEYS) form.clearError(`send.${name}`);
  for (const name of ECHO_TLS_KEYS) if (controls.has(`send.tls.${name}`)) form.clearError(`send.tls.${name}`);
  let text: string;
  let ok = false;
  try {
    const result = await sendJson<EchoResponse & ErrorBody>('POST', '/api/echo', { send });
    const body = result.body;
    if (result.ok && 'ok' in body && body.ok === true) {
      ok = true;
      text = `Success: C-ECHO to ${body.target} answered in ${formatMs(body.rttMs)} ms`;
    } else if (result.ok && 'ok' in body && body.ok === false) {
      text = `Failed: ${body.reason}`;
    } else if (errorsOf(body).length > 0) {
      const errors = errorsOf(body);
      for (const error of errors) form.markError(controls.has(error.key) ? error.key : `send.${error.key}`, error.rule || error.text);
      text = `Failed: ${errors.map((e) => e.text).join('; ')}`;
    } else {
      text = `Failed: ${body.error ?? `HTTP ${result.status}`}`;
    }
  } catch {
    text = 'Failed: connection to the bridge lost';
  }
  echoResult.classList.remove('pending');
  echoResult.classList.toggle('ok', ok);
  echoResult.classList.toggle('failed', !ok);
  echoResult.textContent = text;
  echoButton.disabled = false;
}
