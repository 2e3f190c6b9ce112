/**
 * The configuration schema (SPEC §5) as zod 4 schemas. Each rule carries the text that the
 * ConfigError shows, so an administrator reads `receive.port: must be an integer from 1 to
 * 65535 (got 0)`. Objects are strict: an unknown key is a typo and is refused.
 */
import { isIP, isIPv4 } from 'node:net';
import * as z from 'zod';
import { DEFAULT_CONFIG as D } from './defaults.js';

/** Rule texts, shared with the tests and the GUI. */
export const RULES = {
  object: 'must be an object',
  boolean: 'must be true or false',
  folder: 'must be a folder path (not empty, no NUL character)',
  hex4: 'must be 4 hexadecimal digits, e.g. "0010"',
  cridTag:
    'must name a data element (group not 0000, 0002, 0004, FFFE or FFFF, element not 0000), or both must be "0000" to turn CRYPE IDs off',
  aeTitle: 'must be 1 to 16 ASCII characters without spaces, backslash or control characters',
  ourAeTitle:
    'must be "" (answer to any called AE title) or 1 to 16 ASCII characters without spaces, backslash or control characters',
  ipAddress: 'must be an IP address, e.g. "127.0.0.1"',
  peerHost: 'must be an IPv4 address or a host name, or empty',
  peerHostRequired: 'must be set when send.enabled is true',
  guiPassword: 'must be set (at least 12 characters) when gui.host is not a loopback address',
  logLevel: 'must be one of "trace", "debug", "info", "warn", "error"',
  file: 'must be a file path, or "" for none (no NUL character)',
  tlsPair: 'certFile and keyFile must both be set (PEM files) when TLS is on',
  tlsCa: 'must be set (a PEM bundle of the CAs whose client certificates are trusted) when requireClientCert is true',
  peerAddress: 'must be an IP address, a CIDR range such as "10.1.2.0/24", or a host name',
  peers: 'must be a list of at most 256 entries like { "aeTitle": "PACS1", "host": "10.1.2.3" }',
  unknownKey: 'unknown key',
  intRange: (min: number, max: number) => `must be an integer from ${min} to ${max}`,
} as const;

const AE_TITLE = /^[\x21-\x5b\x5d-\x7e]{1,16}$/; // printable ASCII without space and backslash
const HEX4 = /^[0-9A-Fa-f]{4}$/;
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** True for an AE title after trimming: PS3.5 §6.2 VR AE (default repertoire, no backslash/control), no inner spaces (SPEC §5). */
export function isValidAeTitle(value: string): boolean {
  return AE_TITLE.test(value);
}

/** True for an IPv4 address or an RFC 1123 host name; an all-numeric name must be valid IPv4. */
export function isValidPeerHost(value: string): boolean {
  if (isIPv4(value)) return true;
  if (/^[0-9.]+$/.test(value)) return false;
  if (value.length > 253) return false;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  return name.split('.').every((label) => HOST_LABEL.test(label));
}

const bool = (def: boolean) => z.boolean({ error: RULES.boolean }).default(def);

const int = (min: number, max: number, def: number) => {
  const rule = RULES.intRange(min, max);
  return z
    .number({ error: rule })
    .int({ error: rule })
    .min(min, { error: rule })
    .max(max, { error: rule })
    .default(def);
};

const hex4 = (def: string) =>
  z
    .string({ error: RULES.hex4 })
    .regex(HEX4, { error: RULES.hex4 })
    .transform((v) => v.toUpperCase())
    .default(def);

const aeTitle = (def: string) =>
  z.string({ error: RULES.aeTitle }).trim().refine(isValidAeTitle, { error: RULES.aeTitle }).default(def);

const ipAddress = (def: string) =>
  z
    .string({ error: RULES.ipAddress })
    .trim()
    .refine((v) => isIP(v) !== 0, { error: RULES.ipAddress })
    .default(def);

/** A file path ('' = none); relative paths resolve against the configuration file's folder. */
const filePath = () =>
  z.string({ error: RULES.file }).trim().refine((v) => !v.includes('\0'), { error: RULES.file }).default('');

/** True for an IP address, a CIDR range (IPv4 /0–32, IPv6 /0–128) or an RFC 1123 host name. */
export function isValidPeerAddress(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash === -1) return isIP(value) !== 0 || isValidPeerHost(value);
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** One known peer (SPEC §5 `receive.allowedPeers`): its calling AE title, optionally where it may come from. */
const peerSchema = z.strictObject(
  {
    aeTitle: z.string({ error: RULES.aeTitle }).trim().refine(isValidAeTitle, { error: RULES.aeTitle }),
    host: z.string({ error: RULES.peerAddress }).trim().refine(isValidPeerAddress, { error: RULES.peerAddress }).optional(),
    /** With TLS and requireClientCert: the subject CN its client certificate must carry. */
    commonName: z.string({ error: RULES.aeTitle }).trim().min(1).max(256).optional(),
  },
  { error: RULES.object },
);

/** Groups that cannot hold a CRYPE ID: command, file meta, directory, item delimiters, illegal. */
const FORBIDDEN_CRID_GROUPS = new Set([0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0007, 0xfffe, 0xffff]);

const receiveSchema = z
  .strictObject(
    {
      enabled: bool(D.receive.enabled),
      host: ipAddress(D.receive.host),
      port: int(1, 65535, D.receive.port),
      aeTitle: z
        .string({ error: RULES.ourAeTitle })
        .trim()
        .refine((v) => v === '' || isValidAeTitle(v), { error: RULES.ourAeTitle })
        .default(D.receive.aeTitle),
      timeoutSeconds: int(1, 3600, D.receive.timeoutSeconds),
      cridTagGroup: hex4(D.receive.cridTagGroup),
      cridTagElement: hex4(D.receive.cridTagElement),
      maxAssociations: int(1, 256, D.receive.maxAssociations),
      associationTimeoutSeconds: int(1, 300, D.receive.associationTimeoutSeconds),
      idleTimeoutSeconds: int(1, 3600, D.receive.idleTimeoutSeconds),
      maxPduLength: int(4096, 16777216, D.receive.maxPduLength),
      zipCompressionLevel: int(0, 9, D.receive.zipCompressionLevel),
      fsync: bool(D.receive.fsync),
      allowedPeers: z.array(peerSchema, { error: RULES.peers }).max(256, { error: RULES.peers }).default([]),
      tls: z
        .strictObject(
          {
            enabled: bool(D.receive.tls.enabled),
            port: int(1, 65535, D.receive.tls.port),
            certFile: filePath(),
            keyFile: filePath(),
            caFile: filePath(),
            requireClientCert: bool(D.receive.tls.requireClientCert),
          },
          { error: RULES.object },
        )
        .superRefine((t, ctx) => {
          if (!t.enabled) return;
          if (t.certFile === '') ctx.addIssue({ code: 'custom', path: ['certFile'], message: RULES.tlsPair, input: t.certFile });
          if (t.keyFile === '') ctx.addIssue({ code: 'custom', path: ['keyFile'], message: RULES.tlsPair, input: t.keyFile });
          if (t.requireClientCert && t.caFile === '') ctx.addIssue({ code: 'custom', path: ['caFile'], message: RULES.tlsCa, input: t.caFile });
        })
        .prefault({}),
    },
    { error: RULES.object },
  )
  .superRefine((r, ctx) => {
    // zod still runs this refinement when a field failed; judge only two valid hex values.
    if (!HEX4.test(r.cridTagGroup) || !HEX4.test(r.cridTagElement)) return;
    const group = parseInt(r.cridTagGroup, 16);
    const element = parseInt(r.cridTagElement, 16);
    if (group === 0 && element === 0) return;
    if (FORBIDDEN_CRID_GROUPS.has(group)) {
      ctx.addIssue({ code: 'custom', path: ['cridTagGroup'], message: RULES.cridTag, input: r.cridTagGroup });
    } else if (element === 0) {
      ctx.addIssue({ code: 'custom', path: ['cridTagElement'], message: RULES.cridTag, input: r.cridTagElement });
    }
  })
  .prefault({});

const sendSchema = z
  .strictObject(
    {
      enabled: bool(D.send.enabled),
      host: z
        .string({ error: RULES.peerHost })
        .trim()
        .refine((v) => v === '' || isValidPeerHost(v), { error: RULES.peerHost })
        .default(D.send.host),
      port: int(1, 65535, D.send.port),
      calledAeTitle: aeTitle(D.send.calledAeTitle),
      callingAeTitle: aeTitle(D.send.callingAeTitle),
      retries: int(0, 100, D.send.retries),
      retryDelaySeconds: int(1, 3600, D.send.retryDelaySeconds),
      scanIntervalSeconds: int(1, 3600, D.send.scanIntervalSeconds),
      stableSeconds: int(1, 3600, D.send.stableSeconds),
      incompleteZipSeconds: int(10, 86400, D.send.incompleteZipSeconds),
      associations: int(1, 8, D.send.associations),
      tls: z
        .strictObject(
          {
            enabled: bool(D.send.tls.enabled),
            /** '' = the system's trusted CAs. */
            caFile: filePath(),
            certFile: filePath(),
            keyFile: filePath(),
          },
          { error: RULES.object },
        )
        .superRefine((t, ctx) => {
          if ((t.certFile === '') !== (t.keyFile === '')) {
            const key = t.certFile === '' ? 'certFile' : 'keyFile';
            ctx.addIssue({ code: 'custom', path: [key], message: 'certFile and keyFile (our client certificate) must be set together', input: '' });
          }
        })
        .prefault({}),
      timeoutSeconds: int(1, 3600, D.send.timeoutSeconds),
    },
    { error: RULES.object },
  )
  .superRefine((s, ctx) => {
    if (s.enabled && s.host === '') {
      ctx.addIssue({ code: 'custom', path: ['host'], message: RULES.peerHostRequired, input: s.host });
    }
  })
  .prefault({});

/** True for 127.0.0.0/8 and ::1 (and ::ffff:127.x.y.z): addresses only this machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

const guiSchema = z
  .strictObject(
    {
      host: ipAddress(D.gui.host),
      port: int(1, 65535, D.gui.port),
      password: z.string({ error: RULES.guiPassword }).default(D.gui.password),
      tls: z
        .strictObject({ certFile: filePath(), keyFile: filePath() }, { error: RULES.object })
        .superRefine((t, ctx) => {
          if ((t.certFile === '') !== (t.keyFile === '')) {
            ctx.addIssue({ code: 'custom', path: [t.certFile === '' ? 'certFile' : 'keyFile'], message: 'certFile and keyFile must be set together (the GUI then serves HTTPS only)', input: '' });
          }
        })
        .prefault({}),
    },
    { error: RULES.object },
  )
  .superRefine((g, ctx) => {
    if (isIP(g.host) !== 0 && !isLoopbackAddress(g.host) && g.password.length < 12) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: RULES.guiPassword, input: '(hidden)' });
    }
  })
  .prefault({});

const logSchema = z
  .strictObject(
    {
      level: z
        .enum(['trace', 'debug', 'info', 'warn', 'error'], { error: RULES.logLevel })
        .default(D.log.level),
      maxFileMegabytes: int(1, 1024, D.log.maxFileMegabytes),
      keepFiles: int(1, 1000, D.log.keepFiles),
    },
    { error: RULES.object },
  )
  .prefault({});

/**
 * The whole configuration file. `storageFolder` is validated here and made absolute by
 * parseConfig (relative paths resolve against the folder of the configuration file).
 */
export const configSchema = z.strictObject(
  {
    storageFolder: z
      .string({ error: RULES.folder })
      .trim()
      .refine((v) => v !== '' && !v.includes('\0'), { error: RULES.folder })
      .default(D.storageFolder),
    keepFailedDays: int(1, 365, D.keepFailedDays),
    minFreeDiskMegabytes: int(0, 1048576, D.minFreeDiskMegabytes),
    receive: receiveSchema,
    send: sendSchema,
    gui: guiSchema,
    log: logSchema,
  },
  { error: 'must be a JSON object' },
);

/** Log levels accepted by `log.level` (pino level names). */
/** A known peer: its calling AE title, optionally its address (IP, CIDR or host name) and certificate CN. */
export interface AllowedPeer {
  aeTitle: string;
  host?: string;
  commonName?: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** The validated settings, nested like the JSON file (SPEC §5). */
export interface Config {
  /** Absolute root folder of the Inbox and Outbox folders, the log book and the logs. */
  storageFolder: string;
  keepFailedDays: number;
  /** Below this much free space in the storage folder, C-STOREs are refused with A700 (0 = off). */
  minFreeDiskMegabytes: number;
  receive: {
    enabled: boolean;
    /** Bind address of the DICOM listener. */
    host: string;
    port: number;
    /** Called AE title we answer to; '' accepts any. */
    aeTitle: string;
    timeoutSeconds: number;
    /** 4 upper-case hex digits. */
    cridTagGroup: string;
    /** 4 upper-case hex digits. */
    cridTagElement: string;
    maxAssociations: number;
    /** ARTIM (PS3.8 §9.1.5): TCP accept → complete A-ASSOCIATE-RQ, else the connection is closed. */
    associationTimeoutSeconds: number;
    /** No PDU progress on an established association for this long → A-ABORT. */
    idleTimeoutSeconds: number;
    maxPduLength: number;
    zipCompressionLevel: number;
    fsync: boolean;
    /** Known peers; empty = any peer (SPEC §5). */
    allowedPeers: AllowedPeer[];
    /** The DICOM TLS listener beside the plain one (PS3.15 Annex B). */
    tls: {
      enabled: boolean;
      port: number;
      /** Absolute PEM file paths ('' = none). */
      certFile: string;
      keyFile: string;
      caFile: string;
      requireClientCert: boolean;
    };
  };
  send: {
    enabled: boolean;
    host: string;
    port: number;
    calledAeTitle: string;
    callingAeTitle: string;
    /** Further attempts after a transient failure (refused, timed out, aborted). */
    retries: number;
    /** Wait before the first retry; doubled for each further one. */
    retryDelaySeconds: number;
    /** Full rescan of Outbox_Auto (file events are only hints; network drives send none). */
    scanIntervalSeconds: number;
    /** A ZIP is taken once its size stayed the same this long and its central directory reads. */
    stableSeconds: number;
    /** A file in Outbox_Auto unchanged this long whose central directory still does not read → Outbox_Failed. */
    incompleteZipSeconds: number;
    /** Parallel associations one ZIP's instances are spread over (many PACS accept several). */
    associations: number;
    /** Connect, association and per-response timeout. */
    timeoutSeconds: number;
    /** DICOM TLS to the PACS; `caFile` '' = the system's CAs; certFile/keyFile: our client certificate. */
    tls: { enabled: boolean; caFile: string; certFile: string; keyFile: string };
  };
  gui: {
    host: string;
    port: number;
    /** Required (12+ characters) when `host` is not loopback; HTTP Basic password. Never logged or sent to the page. */
    password: string;
    /** Both set: the GUI serves HTTPS only. Absolute PEM file paths ('' = none). */
    tls: { certFile: string; keyFile: string };
  };
  log: {
    level: LogLevel;
    /** The technical log file is rotated at this size. */
    maxFileMegabytes: number;
    /** Rotated technical log files kept. */
    keepFiles: number;
  };
}

// Compile-time check that the hand-written interface and the schema agree both ways.
type SchemaOutput = z.output<typeof configSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesConfig: Same<SchemaOutput, Config> = true;
void schemaMatchesConfig;
