/**
 * C-ECHO to the configured PACS, with a one-line answer a hospital IT administrator
 * understands (SPEC §2: `dicombridge echo` and the GUI's "test connection").
 * PS3.4 Annex A (Verification SOP Class), PS3.7 §9.1.5 (C-ECHO).
 *
 * It puts the DICOM layer's requestor and cEcho together (src/dicom/README.md says why that
 * layer is our own) and words their errors.
 */
import { performance } from 'node:perf_hooks';
import { cEcho } from '../../dicom/dimse/echo.js';
import { STATUS_SUCCESS } from '../../dicom/dimse/status.js';
import { VERIFICATION_SOP_CLASS } from '../../dicom/dimse/sop-classes.js';
import { DicomTimeoutError } from '../../dicom/errors.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../../dicom/part10/transfer-syntax.js';
import { noopLogger, type Logger } from '../../dicom/ul/logger.js';
import { openScuSession, type ScuSession, type SendTarget } from './scu-session.js';
import { explainAssociationError, formatDuration, statusPhrase } from './store-sender.js';

/** Result of {@link echoPeer}: the C-ECHO round trip, or why the PACS cannot be used. */
export type EchoResult = { ok: true; rttMs: number } | { ok: false; reason: string };

/** Our Maximum Length for the short echo association (PS3.8 Annex D.1). */
const ECHO_MAX_PDU_LENGTH = 16384;

/**
 * Opens an association with one Verification context, sends a C-ECHO, releases. `timeoutMs`
 * bounds the TCP connect, the association answer, the C-ECHO response and the release each.
 * Never rejects: every failure becomes `{ ok: false, reason }`, e.g. "connection refused by
 * 10.0.0.1:104 (nothing listens on that port, or a firewall refuses)". `rttMs` is the C-ECHO
 * round trip alone. PS3.4 §A.4, PS3.7 §9.3.5, PS3.8 §7.1–7.2.
 */
export async function echoPeer(target: SendTarget, options: { timeoutMs: number; log?: Logger }): Promise<EchoResult> {
  const log = (options.log ?? noopLogger).child({ peer: `${target.host}:${target.port}`, calledAet: target.calledAeTitle });
  const where = `${target.host}:${target.port}`;
  let session: ScuSession;
  try {
    session = await openScuSession(
      target,
      [{ pcId: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN] }],
      { maxPduLength: ECHO_MAX_PDU_LENGTH, timeoutMs: options.timeoutMs, log },
    );
  } catch (err) {
    const { reason } = explainAssociationError(err, target, options.timeoutMs);
    log.warn({ err }, `echo: ${reason}`);
    return { ok: false, reason };
  }
  const { assoc, user } = session;
  const fail = async (reason: string, err?: unknown): Promise<EchoResult> => {
    await session.abort();
    log.warn({ err }, `echo: ${reason}`);
    return { ok: false, reason };
  };

  if (!assoc.contexts.has(1)) return fail('the PACS accepted the association but refused C-ECHO (Verification SOP class not supported)');
  let status: number;
  let rttMs: number;
  try {
    const started = performance.now();
    ({ status } = await cEcho(user, assoc, 1, { timeoutMs: options.timeoutMs }));
    rttMs = performance.now() - started;
  } catch (err) {
    const ended = session.peerEnded();
    if (err instanceof DicomTimeoutError) return fail(`no C-ECHO response from ${where} within ${formatDuration(options.timeoutMs)} (timed out)`, err);
    if (ended === 'aborted') return fail('the PACS aborted the association', err);
    return fail(`the connection to ${where} was lost before the C-ECHO response`, err);
  }
  if (status !== STATUS_SUCCESS) return fail(`C-ECHO answered with ${statusPhrase(status)}`);
  try {
    await assoc.release();
  } catch (err) {
    // The echo itself succeeded; a PACS that drops the connection instead of releasing is common.
    log.warn({ err }, 'echo: A-RELEASE failed after a successful C-ECHO');
    await session.abort();
  }
  log.info({ rttMs }, 'echo: C-ECHO succeeded');
  return { ok: true, rttMs };
}
