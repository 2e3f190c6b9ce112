/**
 * The TLS files of a configuration seen from the admin GUI (SPEC §5 `receive.tls`, `send.tls`,
 * `gui.tls`): what each configured certificate is and when it expires (the Settings tab's
 * Certificates panel, the status strip, /health), and which files a Save must refuse (a key
 * that is not its certificate's; unreadable or non-PEM files of a TLS end that is on). Only
 * reads the files; the listeners load them themselves.
 */
import { access } from 'node:fs/promises';
import { configIssue, type ConfigIssue } from '../config/errors.js';
import type { Config } from '../config/schema.js';
import { loadTlsMaterial, TlsMaterialError, type CertificateInfo, type TlsFiles } from '../tls/material.js';

/** A certificate this many days or fewer from expiry is warned about. */
export const EXPIRY_WARNING_DAYS = 30;

/** One TLS end of the configuration. */
interface TlsEnd {
  /** Setting prefix, e.g. `receive.tls`. */
  prefix: 'receive.tls' | 'send.tls' | 'gui.tls';
  /** For people: "DICOM receiving (TLS port)". */
  title: string;
  inUse: boolean;
  files: Required<TlsFiles>;
  /** What the CA bundle is for. */
  caRole: string;
}

/** One certificate (or an unusable file) as the Certificates panel shows it. */
export interface CertificateEntry {
  /** The setting naming the file, e.g. `receive.tls.certFile`. */
  setting: string;
  /** "DICOM receiving (TLS port): our certificate". */
  role: string;
  file: string;
  /** False when that TLS end is switched off (shown, never warned about). */
  inUse: boolean;
  certificate?: CertificateInfo;
  /** Why the file cannot be used. */
  error?: string;
}

/** The TLS ends of a configuration, with the files that are set. */
function endsOf(config: Config): TlsEnd[] {
  const r = config.receive.tls;
  const s = config.send.tls;
  const g = config.gui.tls;
  return [
    { prefix: 'receive.tls', title: 'DICOM receiving (TLS port)', inUse: r.enabled, files: { certFile: r.certFile, keyFile: r.keyFile, caFile: r.caFile }, caRole: 'trusted CA for client certificates' },
    { prefix: 'send.tls', title: 'DICOM sending', inUse: s.enabled, files: { certFile: s.certFile, keyFile: s.keyFile, caFile: s.caFile }, caRole: "trusted CA for the PACS's certificate" },
    { prefix: 'gui.tls', title: 'Admin GUI (HTTPS)', inUse: g.certFile !== '' && g.keyFile !== '', files: { certFile: g.certFile, keyFile: g.keyFile, caFile: '' }, caRole: '' },
  ];
}

/** Every configured certificate (each CA of a bundle on its own), or the reason its file is unusable. */
export async function describeConfiguredCertificates(config: Config, now: Date = new Date()): Promise<CertificateEntry[]> {
  const entries: CertificateEntry[] = [];
  for (const end of endsOf(config)) {
    const { certFile, keyFile, caFile } = end.files;
    if (certFile !== '') {
      const base = { setting: `${end.prefix}.certFile`, role: `${end.title}: our certificate`, file: certFile, inUse: end.inUse };
      try {
        const material = await loadTlsMaterial({ certFile, keyFile }, now);
        entries.push({ ...base, certificate: material.certificate });
      } catch (err) {
        if (!(err instanceof TlsMaterialError)) throw err;
        // A bad key still leaves the certificate worth describing.
        const described = err.key === 'keyFile' ? await loadTlsMaterial({ certFile }, now).catch(() => null) : null;
        const at = err.key === 'keyFile' ? { setting: `${end.prefix}.keyFile`, file: keyFile } : {};
        entries.push({ ...base, ...at, certificate: described?.certificate, error: err.message });
      }
    }
    if (caFile !== '') {
      const base = { setting: `${end.prefix}.caFile`, role: `${end.title}: ${end.caRole}`, file: caFile, inUse: end.inUse };
      try {
        const material = await loadTlsMaterial({ caFile }, now);
        for (const certificate of material.authorities) entries.push({ ...base, certificate });
      } catch (err) {
        if (!(err instanceof TlsMaterialError)) throw err;
        entries.push({ ...base, error: err.message });
      }
    }
  }
  return entries;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The warning for one entry in use, or null: unusable, expired, or expiring within EXPIRY_WARNING_DAYS. */
export function certificateWarning(entry: CertificateEntry): string | null {
  if (!entry.inUse) return null;
  if (entry.error !== undefined) return `${entry.setting}: ${entry.error}`;
  const c = entry.certificate;
  if (c === undefined) return null;
  const name = `certificate "${c.commonName || c.subject}" (${entry.setting})`;
  if (c.daysLeft < 0) return `${name} has expired`;
  if (c.daysLeft === 0) return `${name} expires today`;
  if (c.daysLeft <= EXPIRY_WARNING_DAYS) return `${name} expires in ${plural(c.daysLeft, 'day')}`;
  return null;
}

/** The warnings of all entries. */
export function certificateWarnings(entries: readonly CertificateEntry[]): string[] {
  return entries.map(certificateWarning).filter((w): w is string => w !== null);
}

async function allReadable(files: Required<TlsFiles>): Promise<boolean> {
  const set = [files.certFile, files.keyFile, files.caFile].filter((f) => f !== '');
  const results = await Promise.all(set.map((f) => access(f).then(() => true, () => false)));
  return results.every(Boolean);
}

/**
 * What a Save must refuse, as config issues naming the file's key (`receive.tls.keyFile: … is
 * not the key of the certificate in …`): any unusable file of a TLS end that is on; for an end
 * that is off, only files that are there but wrong (paths may be filled in before the
 * certificates are installed).
 */
export async function tlsMaterialIssues(config: Config): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const end of endsOf(config)) {
    const { certFile, keyFile, caFile } = end.files;
    if (certFile === '' && keyFile === '' && caFile === '') continue;
    // A key without its certificate is the schema's concern (set together); check what can be checked.
    const files = { certFile, keyFile: certFile === '' ? '' : keyFile, caFile };
    try {
      await loadTlsMaterial(files);
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      if (end.inUse || (await allReadable(files))) issues.push(configIssue(`${end.prefix}.${err.key}`, err.message));
    }
  }
  return issues;
}
