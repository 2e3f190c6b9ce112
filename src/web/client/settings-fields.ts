/**
 * The Settings form's fields (SPEC §5, seed manual §4.2): dotted config key, label, section,
 * input kind, and whether it sits in the section's "Advanced" block. The form is rendered
 * from this list; settings keys the server sends that are not listed here are kept and sent
 * back unchanged.
 */

export type SectionId = 'general' | 'receive' | 'send';

/**
 * text: free text; number: integer typed as text (so "abc" reaches the server's rule); folder:
 * text + Browse. TLS file paths are text: the Browse dialog lists folders only.
 */
export type FieldKind = 'text' | 'number' | 'checkbox' | 'select' | 'folder';

/** Input width: short for numbers and 4-digit tags, medium for AE titles and addresses, else wide. */
export type FieldSize = 'short' | 'medium' | 'wide';

export interface FieldDef {
  key: string;
  label: string;
  section: SectionId;
  kind: FieldKind;
  advanced: boolean;
  size: FieldSize;
  options?: readonly string[];
}

export interface SectionDef {
  id: SectionId;
  title: string;
}

/** The three sections, in the seed's order. */
export const SECTIONS: readonly SectionDef[] = [
  { id: 'general', title: 'General' },
  { id: 'receive', title: 'DICOM Receiving' },
  { id: 'send', title: 'DICOM Sending' },
];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

const f = (
  key: string,
  label: string,
  section: SectionId,
  kind: FieldKind,
  advanced = false,
  size: FieldSize = kind === 'number' ? 'short' : 'wide',
): FieldDef => ({ key, label, section, kind, advanced, size });

/** Every rendered field, in display order within its section. Labels of the basic fields are the seed's. */
export const FIELDS: readonly FieldDef[] = [
  f('storageFolder', 'Storage Folder', 'general', 'folder'),
  f('keepFailedDays', 'Keep failed (days)', 'general', 'number'),
  f('minFreeDiskMegabytes', 'Minimum free disk space (MB)', 'general', 'number', true),
  f('gui.host', 'GUI address', 'general', 'text', true, 'medium'),
  f('gui.port', 'GUI port', 'general', 'number', true),
  f('gui.tls.certFile', 'GUI HTTPS certificate (PEM file)', 'general', 'text', true),
  f('gui.tls.keyFile', 'GUI HTTPS private key (PEM file)', 'general', 'text', true),
  { ...f('log.level', 'Technical log level', 'general', 'select', true), options: LOG_LEVELS },
  f('log.maxFileMegabytes', 'Technical log file size (MB)', 'general', 'number', true),
  f('log.keepFiles', 'Technical log files kept', 'general', 'number', true),

  f('receive.enabled', 'Activate DICOM Receiving', 'receive', 'checkbox'),
  f('receive.port', 'Port', 'receive', 'number'),
  f('receive.timeoutSeconds', 'Timeout (seconds)', 'receive', 'number'),
  f('receive.cridTagGroup', 'Crype-ID Tag Group', 'receive', 'text', false, 'short'),
  f('receive.cridTagElement', 'Crype-ID Tag Element', 'receive', 'text', false, 'short'),
  f('receive.host', 'Listen address', 'receive', 'text', true, 'medium'),
  f('receive.aeTitle', 'Own AE title (empty = any)', 'receive', 'text', true, 'medium'),
  f('receive.maxAssociations', 'Maximum simultaneous associations', 'receive', 'number', true),
  f('receive.associationTimeoutSeconds', 'Association request timeout (seconds)', 'receive', 'number', true),
  f('receive.idleTimeoutSeconds', 'Idle association timeout (seconds)', 'receive', 'number', true),
  f('receive.maxPduLength', 'Maximum PDU length (bytes)', 'receive', 'number', true),
  f('receive.zipCompressionLevel', 'ZIP compression level (0-9)', 'receive', 'number', true),
  f('receive.fsync', 'Flush each file to disk (fsync)', 'receive', 'checkbox', true),
  f('receive.tls.enabled', 'Activate DICOM TLS receiving', 'receive', 'checkbox', true),
  f('receive.tls.port', 'TLS port', 'receive', 'number', true),
  f('receive.tls.certFile', 'TLS certificate (PEM file)', 'receive', 'text', true),
  f('receive.tls.keyFile', 'TLS private key (PEM file)', 'receive', 'text', true),
  f('receive.tls.caFile', 'Trusted client CAs (PEM file)', 'receive', 'text', true),
  f('receive.tls.requireClientCert', 'Require a client certificate (mutual TLS)', 'receive', 'checkbox', true),

  f('send.enabled', 'Activate DICOM Sending', 'send', 'checkbox'),
  f('send.host', 'IP-Address', 'send', 'text', false, 'medium'),
  f('send.port', 'Port', 'send', 'number'),
  f('send.calledAeTitle', 'AE-Title Receiver', 'send', 'text', false, 'medium'),
  f('send.callingAeTitle', 'AE-Title Sender', 'send', 'text', false, 'medium'),
  f('send.timeoutSeconds', 'Network timeout (seconds)', 'send', 'number', true),
  f('send.retries', 'Retries per ZIP', 'send', 'number', true),
  f('send.retryDelaySeconds', 'Delay between retries (seconds)', 'send', 'number', true),
  f('send.scanIntervalSeconds', 'Outbox scan interval (seconds)', 'send', 'number', true),
  f('send.stableSeconds', 'ZIP unchanged for (seconds) before sending', 'send', 'number', true),
  f('send.incompleteZipSeconds', 'Unreadable ZIP failed after (seconds)', 'send', 'number', true),
  f('send.associations', 'Parallel associations per ZIP', 'send', 'number', true),
  f('send.tls.enabled', 'Send over DICOM TLS', 'send', 'checkbox', true),
  f('send.tls.caFile', "Trusted CAs for the PACS's certificate (PEM file)", 'send', 'text', true),
  f('send.tls.certFile', 'Our client certificate (PEM file)', 'send', 'text', true),
  f('send.tls.keyFile', 'Our client private key (PEM file)', 'send', 'text', true),
];

/** The fields C-ECHO takes from the form (gui-api.md: POST /api/echo). */
export const ECHO_KEYS = ['host', 'port', 'calledAeTitle', 'callingAeTitle', 'timeoutSeconds'] as const;
