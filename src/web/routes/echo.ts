/**
 * POST /api/echo: "Send DICOM Echo" (SPEC §7) with the values currently in the form, saved or
 * not, so an administrator can test a PACS before saving it; `send.tls` from the form when it
 * has those fields, else as saved. Each echo is a log book row.
 */
import { ConfigError, configIssue } from '../../config/errors.js';
import { echoPeer } from '../../bridge/send/echo-peer.js';
import { sendTargetOf } from '../../bridge/send/sending.js';
import { objectField, readJson, sendJson } from '../http.js';
import type { Route } from './context.js';
import { publicSettings } from './settings.js';

export const postEcho: Route = async ({ req, res, supervisor, log }) => {
  const send = objectField(await readJson(req), 'send');
  const current = supervisor.config;
  // Validate the form's send values with the same rules as Save, everything else as saved.
  const tls = send.tls !== null && typeof send.tls === 'object' ? { ...current.send.tls, ...(send.tls as object) } : current.send.tls;
  const draft = { ...publicSettings(current), send: { ...current.send, ...send, tls, enabled: false } };
  let target;
  try {
    target = supervisor.candidate(draft).send;
    if (target.host === '') throw new ConfigError([configIssue('send.host', 'must be set to send a C-ECHO')]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const errors = err.issues.filter((i) => i.key.startsWith('send.') || i.key === '');
    return sendJson(res, 400, { errors: (errors.length > 0 ? errors : err.issues).map(({ key, rule, text }) => ({ key, rule, text })) });
  }
  const where = `${target.calledAeTitle}@${target.host}:${target.port}`;
  const result = await echoPeer(sendTargetOf(target), { timeoutMs: target.timeoutSeconds * 1000, log });
  supervisor.bridge.logBook.add({
    action: 'Echo',
    status: result.ok ? 'Success' : 'Failed',
    fileName: where,
    callingAeTitle: target.callingAeTitle,
    peerAddress: `${target.host}:${target.port}`,
    reason: result.ok ? null : `C-ECHO to ${where} (calling AE ${target.callingAeTitle}) failed: ${result.reason}`,
  });
  sendJson(res, 200, result.ok ? { ok: true, rttMs: result.rttMs, target: where } : { ok: false, reason: result.reason, target: where });
};
