/**
 * GET/PUT /api/settings and POST /api/settings/validate (SPEC §7, Settings tab). The GUI sees
 * every setting except the password, gets each rule as a hint, and a refused save answers
 * with the key and rule of every problem so the page can show them next to the fields.
 */
import { settingsAuditEntry, type SettingsSave } from '../../bridge/settings-audit.js';
import { ConfigError, type ConfigIssue } from '../../config/errors.js';
import { RULES, type Config } from '../../config/schema.js';
import { objectField, readJson, sendJson } from '../http.js';
import { tlsMaterialIssues } from '../tls-files.js';
import type { Route, RouteContext } from './context.js';

/** A setting as the page sees it: the Config without secrets. */
export type PublicSettings = Omit<Config, 'gui'> & { gui: Omit<Config['gui'], 'password'> };

/** The config without the GUI password (which never leaves the server). */
export function publicSettings(config: Config): PublicSettings {
  const { password, ...gui } = config.gui;
  return { ...structuredClone(config), gui };
}

const range = RULES.intRange;

/** The rule of each setting the page shows, as a hint under the field. */
export const SETTING_RULES: Readonly<Record<string, string>> = {
  storageFolder: 'a folder this service can write to; created if missing',
  keepFailedDays: range(1, 365),
  minFreeDiskMegabytes: `${range(0, 1048576)}; below this free space DICOM storing is refused (out of resources) until space returns; 0 = off`,
  'receive.enabled': RULES.boolean,
  'receive.port': range(1, 65535),
  'receive.timeoutSeconds': `${range(1, 3600)}: quiet seconds after which a study is complete`,
  'receive.cridTagGroup': `${RULES.hex4}; 0000/0000 turns CRYPE IDs off`,
  'receive.cridTagElement': RULES.hex4,
  'receive.host': `${RULES.ipAddress}; 0.0.0.0 = every interface`,
  'receive.aeTitle': RULES.ourAeTitle,
  'receive.maxAssociations': range(1, 256),
  'receive.associationTimeoutSeconds': `${range(1, 300)}: a connection must complete its association request within this time`,
  'receive.idleTimeoutSeconds': `${range(1, 3600)}: an association without PDU progress this long is aborted`,
  'receive.maxPduLength': range(4096, 16777216),
  'receive.zipCompressionLevel': `${range(0, 9)}: 0 stores, 1 is fast, 9 is smallest`,
  'receive.fsync': 'flush every instance to disk before answering (keep on)',
  'send.enabled': RULES.boolean,
  'send.host': RULES.peerHost,
  'send.port': range(1, 65535),
  'send.calledAeTitle': RULES.aeTitle,
  'send.callingAeTitle': RULES.aeTitle,
  'send.retries': range(0, 100),
  'send.retryDelaySeconds': `${range(1, 3600)}; doubled for each further retry`,
  'send.scanIntervalSeconds': range(1, 3600),
  'send.stableSeconds': range(1, 3600),
  'send.incompleteZipSeconds': `${range(10, 86400)}: a file in Outbox_Auto unchanged this long that is still not a readable ZIP goes to Outbox_Failed`,
  'send.timeoutSeconds': range(1, 3600),
  'send.associations': `${range(1, 8)}: a ZIP's instances are sent over this many associations at once (the PACS must accept that many)`,
  'gui.host': `${RULES.ipAddress}; off loopback a password must be set in the configuration file`,
  'gui.port': range(1, 65535),
  'gui.tls.certFile': `${RULES.file}; PEM certificate: with gui.tls.keyFile set the GUI serves HTTPS only (the page moves to https://)`,
  'gui.tls.keyFile': `${RULES.file}; PEM private key of gui.tls.certFile (refused if it is not that certificate's key)`,
  'receive.tls.enabled': `${RULES.boolean}: a DICOM TLS listener beside the plain one`,
  'receive.tls.port': `${range(1, 65535)}; 2762 is the registered DICOM TLS port`,
  'receive.tls.certFile': `${RULES.file}; PEM certificate of this bridge (needed when DICOM TLS is on)`,
  'receive.tls.keyFile': `${RULES.file}; PEM private key of receive.tls.certFile`,
  'receive.tls.caFile': `${RULES.file}; PEM bundle of the CAs whose client certificates are trusted`,
  'receive.tls.requireClientCert': `${RULES.boolean}: mutual TLS, peers must show a certificate of a trusted CA`,
  'send.tls.enabled': `${RULES.boolean}: send to the PACS over DICOM TLS`,
  'send.tls.caFile': `${RULES.file}; PEM bundle trusted for the PACS's certificate ("" = the system's CAs)`,
  'send.tls.certFile': `${RULES.file}; our PEM client certificate, if the PACS asks for one`,
  'send.tls.keyFile': `${RULES.file}; PEM private key of send.tls.certFile`,
  'log.level': RULES.logLevel,
  'log.maxFileMegabytes': `${range(1, 1024)}; the technical log file is rotated at this size`,
  'log.keepFiles': `${range(1, 1000)} rotated technical log files kept`,
};

function issuesBody(issues: readonly ConfigIssue[]) {
  return { errors: issues.map(({ key, rule, text }) => ({ key, rule, text })) };
}

export const getSettings: Route = ({ res, supervisor }) => {
  sendJson(res, 200, { settings: publicSettings(supervisor.config), configPath: supervisor.configPath, rules: SETTING_RULES });
};

export const validateSettings: Route = async ({ req, res, supervisor }) => {
  const settings = objectField(await readJson(req), 'settings');
  const issues = supervisor.validate(settings);
  // Valid by the rules: then the TLS files themselves (a key that is not its certificate's).
  sendJson(res, 200, issuesBody(issues.length > 0 ? issues : await tlsMaterialIssues(supervisor.candidate(settings))));
};

/** Writes the audit row of a save (log book action `Settings`); a log book fault must not turn a done save into an error. */
function audit({ req, supervisor, log }: RouteContext, save: Omit<SettingsSave, 'address'>): void {
  try {
    supervisor.bridge.logBook.add(settingsAuditEntry({ ...save, address: req.socket.remoteAddress ?? '' }));
  } catch (err) {
    log.error({ err }, 'could not write the settings audit row to the log book');
  }
}

/**
 * Saves: validates (400 with every problem, nothing written), binds the GUI's new address if
 * it changed, applies to the bridge and writes the file (409 when a valid setting cannot be
 * applied, e.g. a port in use; nothing written).
 */
export const putSettings: Route = async (ctx) => {
  const { req, res, supervisor, gui, log } = ctx;
  const settings = objectField(await readJson(req), 'settings');
  let next;
  try {
    next = supervisor.candidate(settings);
  } catch (err) {
    if (err instanceof ConfigError) {
      audit(ctx, { before: supervisor.config, after: settings, issues: err.issues });
      return sendJson(res, 400, issuesBody(err.issues));
    }
    throw err;
  }
  const tlsIssues = await tlsMaterialIssues(next);
  if (tlsIssues.length > 0) return sendJson(res, 400, issuesBody(tlsIssues));
  const current = supervisor.config.gui;
  const moving = next.gui.host !== current.host || next.gui.port !== current.port
    || next.gui.tls.certFile !== current.tls.certFile || next.gui.tls.keyFile !== current.tls.keyFile;
  let rebind: Awaited<ReturnType<typeof gui.prepare>> | null = null;
  try {
    if (moving) rebind = await gui.prepare(next.gui);
    const { config, previous, applied } = await supervisor.save(settings);
    if (rebind) {
      applied.push(`admin GUI now at ${rebind.url}`);
      rebind.commit();
    } else {
      await gui.reload?.();
    }
    audit(ctx, { before: previous, after: config });
    sendJson(res, 200, { settings: publicSettings(config), applied, guiUrl: rebind?.url ?? gui.url });
  } catch (err) {
    await rebind?.cancel();
    if (!(err instanceof ConfigError)) throw err;
    log.warn({ issues: err.issues.map((i) => i.text) }, 'settings not saved');
    audit(ctx, { before: supervisor.config, after: settings, issues: err.issues });
    sendJson(res, 409, issuesBody(err.issues));
  }
};
