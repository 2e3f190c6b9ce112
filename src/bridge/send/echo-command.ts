/**
 * `dicombridge echo`: a C-ECHO to the configured PACS (SPEC §5 DICOM Sending) with a one-line
 * answer an administrator can act on, over TLS when `send.tls.enabled`. The GUI's "Send DICOM
 * Echo" uses the same echoPeer.
 */
import type { Config } from '../../config/schema.js';
import { echoPeer } from './echo-peer.js';
import { sendTargetOf } from './sending.js';

/** Runs the echo; resolves with the process exit code (0 success, 1 failure). */
export async function runEcho(config: Config, out: NodeJS.WritableStream): Promise<number> {
  const { host, port, calledAeTitle, callingAeTitle, timeoutSeconds, tls } = config.send;
  if (host === '') {
    out.write('echo: send.host is not set in the configuration\n');
    return 1;
  }
  const where = `${calledAeTitle}@${host}:${port}${tls.enabled ? ' over TLS' : ''} (calling AE ${callingAeTitle})`;
  const result = await echoPeer(sendTargetOf(config.send), { timeoutMs: timeoutSeconds * 1000 });
  if (result.ok) {
    out.write(`C-ECHO to ${where} succeeded in ${Math.round(result.rttMs)} ms\n`);
    return 0;
  }
  out.write(`C-ECHO to ${where} failed: ${result.reason}\n`);
  return 1;
}
