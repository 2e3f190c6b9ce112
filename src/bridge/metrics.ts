/**
 * The bridge's monitoring figures (README "/metrics"): cumulative counts kept while it runs, and
 * their rendering in the Prometheus text exposition format 0.0.4 for `GET /metrics`.
 *
 * Why no library: prom-client (15.x, Node 20 fine) brings @opentelemetry/api and tdigest, a
 * process-global default registry, histograms and summaries we do not use, and wants every
 * value pushed into its own objects or pulled through its collect callbacks. Our figures are
 * a dozen counters and gauges whose values already live in the bridge (queue sizes, disk
 * space, the acceptor's counts) and must survive a bridge being replaced inside the process;
 * rendering them is a page of code: `# HELP`, `# TYPE`, one line per sample, with the
 * format's escaping (backslash and newline in help; backslash, double quote and newline in
 * label values). Counters and gauges only.
 *
 * Counting: each Bridge owns a {@link BridgeCounters} (instances and bytes received and sent,
 * studies completed per inbox, ZIPs sent per result, and the association counts of every
 * receiver it started, re-bound ones included). The Supervisor adds the counts of a bridge it
 * replaces (storage folder change) to its carried totals, so counters never go back.
 */
import type { AcceptorStats } from '../dicom/ul/acceptor.js';
import type { CloseReason } from '../dicom/ul/primitives.js';
import type { BridgeStatus } from './status.js';

// ---------------------------------------------------------------------------------------------
// Text exposition format 0.0.4

/** One sample of a metric family: its labels (may be empty) and value. */
export interface MetricSample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

/** A metric family as the text format writes it: `# HELP`, `# TYPE`, then its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: readonly MetricSample[];
}

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Help text escaping: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label value escaping: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value: integers and decimals as JavaScript prints them, `+Inf`, `-Inf`, `NaN`. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Writes metric families in the Prometheus text format 0.0.4. Names and label names are
 * checked (a bad one is a programmer error: TypeError); label values are escaped.
 */
export function formatExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new TypeError(`invalid metric name ${JSON.stringify(family.name)}`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      let text = family.name;
      if (labels.length > 0) {
        const parts = labels.map(([name, value]) => {
          if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new TypeError(`invalid label name ${JSON.stringify(name)} on ${family.name}`);
          return `${name}="${escapeLabelValue(value)}"`;
        });
        text += `{${parts.join(',')}}`;
      }
      lines.push(`${text} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Counts

/** Inboxes a completed study lands in (SPEC §1). */
export const STUDY_INBOXES = ['Inbox_Auto', 'Inbox_Manual', 'Inbox_Failed'] as const;
export type StudyInbox = (typeof STUDY_INBOXES)[number];

/** Cumulative counts since a bridge (or, summed, the process) started. */
export interface BridgeCounts {
  /** DICOM associations on our receivers (PS3.8 §9.3.3, §9.3.4, §9.3.8). */
  associations: AcceptorStats;
  /** Instances stored in a study's staging folder (C-STORE answered with success). */
  instancesReceived: number;
  /** Their size as staged: file meta information plus dataset bytes. */
  bytesReceived: number;
  studiesCompleted: Record<StudyInbox, number>;
  /** Instances the PACS acknowledged (success or warning status). */
  instancesSent: number;
  /** Their dataset bytes as sent (without file meta information). */
  bytesSent: number;
  zipsSent: { success: number; failed: number };
}

/** All counts at zero. */
export function emptyCounts(): BridgeCounts {
  return {
    associations: emptyAssociationCounts(),
    instancesReceived: 0,
    bytesReceived: 0,
    studiesCompleted: { Inbox_Auto: 0, Inbox_Manual: 0, Inbox_Failed: 0 },
    instancesSent: 0,
    bytesSent: 0,
    zipsSent: { success: 0, failed: 0 },
  };
}

function emptyAssociationCounts(): AcceptorStats {
  return { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0 };
}

/** a + b for association counts (new objects). */
function addAssociationCounts(a: AcceptorStats, b: AcceptorStats): AcceptorStats {
  const rejected: Record<string, number> = { ...a.rejected };
  for (const [key, n] of Object.entries(b.rejected)) rejected[key] = (rejected[key] ?? 0) + n;
  const ended = { ...a.ended };
  for (const key of Object.keys(ended) as CloseReason[]) ended[key] += b.ended[key] ?? 0;
  const refused: Record<string, number> = { ...a.refused };
  for (const [key, n] of Object.entries(b.refused ?? {})) refused[key] = (refused[key] ?? 0) + n;
  return { accepted: a.accepted + b.accepted, rejected, ended, connectionsRefused: a.connectionsRefused + b.connectionsRefused, refused };
}

/**
 * Reasons the security rules refuse a peer (acceptor.ts, peer-policy.ts): listed at 0 from the
 * start so a dashboard sees each series before the first refusal.
 */
export const REFUSAL_REASONS = [
  'unknown-calling-ae-title', 'address-not-allowed', 'certificate-name-mismatch',
  'no-client-certificate', 'untrusted-client-certificate', 'expired-client-certificate',
  'tls-version-not-accepted', 'not-tls', 'tls-on-plain-port', 'tls-handshake-timeout', 'tls-handshake-failed',
] as const;

/** a + b (a new object; neither input changes). */
export function addCounts(a: BridgeCounts, b: BridgeCounts): BridgeCounts {
  return {
    associations: addAssociationCounts(a.associations, b.associations),
    instancesReceived: a.instancesReceived + b.instancesReceived,
    bytesReceived: a.bytesReceived + b.bytesReceived,
    studiesCompleted: {
      Inbox_Auto: a.studiesCompleted.Inbox_Auto + b.studiesCompleted.Inbox_Auto,
      Inbox_Manual: a.studiesCompleted.Inbox_Manual + b.studiesCompleted.Inbox_Manual,
      Inbox_Failed: a.studiesCompleted.Inbox_Failed + b.studiesCompleted.Inbox_Failed,
    },
    instancesSent: a.instancesSent + b.instancesSent,
    bytesSent: a.bytesSent + b.bytesSent,
    zipsSent: { success: a.zipsSent.success + b.zipsSent.success, failed: a.zipsSent.failed + b.zipsSent.failed },
  };
}

/**
 * Anything that may report acceptor stats: a Receiver passes its acceptor's through as
 * `stats`. Read defensively, so a receiver without it counts no associations.
 */
export interface StatsSource {
  readonly stats?: AcceptorStats;
}

function statsOf(receiver: object): AcceptorStats {
  return (receiver as StatsSource).stats ?? emptyAssociationCounts();
}

/** The counts of one running bridge; the bridge calls the `note…` methods as things happen. */
export class BridgeCounters {
  private readonly counts = emptyCounts();
  /** Receivers still open: their acceptor's counts are read live. */
  private readonly receivers = new Set<object>();

  /** An instance was staged; `bytes` is its file size. */
  noteInstanceReceived(bytes: number): void {
    this.counts.instancesReceived += 1;
    this.counts.bytesReceived += bytes;
  }

  /** A study was zipped into an inbox, or moved to Inbox_Failed. */
  noteStudyCompleted(inbox: StudyInbox): void {
    this.counts.studiesCompleted[inbox] += 1;
  }

  /** The PACS acknowledged an instance of `bytes` dataset bytes. */
  noteInstanceSent(bytes: number): void {
    this.counts.instancesSent += 1;
    this.counts.bytesSent += bytes;
  }

  /** An Outbox ZIP was finished: deleted after success or moved to Outbox_Failed. */
  noteZipSent(success: boolean): void {
    this.counts.zipsSent[success ? 'success' : 'failed'] += 1;
  }

  /** A receiver started listening: its association counts are included from now on. */
  receiverStarted(receiver: object): void {
    this.receivers.add(receiver);
  }

  /**
   * A receiver is closed for good (its associations have ended): its final counts are kept,
   * the receiver itself is let go. Idempotent.
   */
  receiverEnded(receiver: object): void {
    if (!this.receivers.delete(receiver)) return;
    this.counts.associations = addAssociationCounts(this.counts.associations, statsOf(receiver));
  }

  /** The counts now (a copy). */
  snapshot(): BridgeCounts {
    let associations = this.counts.associations;
    for (const receiver of this.receivers) associations = addAssociationCounts(associations, statsOf(receiver));
    return addCounts(emptyCounts(), { ...this.counts, associations });
  }
}

// ---------------------------------------------------------------------------------------------
// The bridge's metric families

/** Metric name prefix. */
export const METRIC_PREFIX = 'dicombridge_';

/** What `/metrics` shows besides the counts. */
export interface MetricsInput {
  counts: BridgeCounts;
  status: BridgeStatus;
  /** The /health verdict. */
  ready: boolean;
  /** Process figures; omitted when absent. */
  process?: { residentMemoryBytes: number; heapUsedBytes: number; cpuSecondsTotal: number; startTimeSeconds: number };
}

/** The process's own figures for {@link MetricsInput.process}. */
export function processFigures(): NonNullable<MetricsInput['process']> {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    residentMemoryBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
    startTimeSeconds: Math.round((Date.now() - process.uptime() * 1000) / 1000),
  };
}

function counter(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name: METRIC_PREFIX + name, help, type: 'counter', samples };
}

function gauge(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name: METRIC_PREFIX + name, help, type: 'gauge', samples };
}

/** The bridge's metric families: every labelled series is present from the start, at 0. */
export function bridgeMetricFamilies(input: MetricsInput): MetricFamily[] {
  const { counts, status } = input;
  const a = counts.associations;
  const rejectedTotal = Object.values(a.rejected).reduce((sum, n) => sum + n, 0);
  const rejectReasons = Object.keys(a.rejected).sort();
  if (!rejectReasons.includes('local-limit-exceeded')) rejectReasons.unshift('local-limit-exceeded');
  const families: MetricFamily[] = [
    gauge('up', 'Always 1 while the bridge answers.', [{ value: 1 }]),
    gauge('ready', '1 when GET /health answers ready, else 0.', [{ value: input.ready ? 1 : 0 }]),
    gauge('info', 'The running version (value always 1).', [{ labels: { version: status.version }, value: 1 }]),
    counter('associations_total', 'DICOM associations requested of the receiver, by result (A-ASSOCIATE-AC or -RJ).', [
      { labels: { result: 'accepted' }, value: a.accepted },
      { labels: { result: 'rejected' }, value: rejectedTotal },
    ]),
    counter('associations_rejected_total', 'DICOM associations rejected, by reason (PS3.8 Table 9-21).',
      rejectReasons.map((reason) => ({ labels: { reason }, value: a.rejected[reason] ?? 0 }))),
    counter('peers_refused_total', 'DICOM connections and associations refused by the security rules, by reason (TLS handshake, client certificate, receive.allowedPeers).',
      [...new Set([...REFUSAL_REASONS, ...Object.keys(a.refused ?? {}).sort()])].map((reason) => ({ labels: { reason }, value: a.refused?.[reason] ?? 0 }))),
    counter('associations_ended_total', 'Accepted DICOM associations that ended, by how: released, aborted (A-ABORT), closed (connection lost).', [
      { labels: { how: 'released' }, value: a.ended.released },
      { labels: { how: 'aborted' }, value: a.ended.aborted },
      { labels: { how: 'closed' }, value: a.ended.closed },
    ]),
    counter('connections_refused_total', 'TCP connections closed before their association request: beyond the socket ceiling, or the oldest silent one dropped for a newcomer.', [{ value: a.connectionsRefused }]),
    gauge('associations_active', 'DICOM associations open now.', [{ value: status.activeAssociations }]),
    gauge('receiver_listening', '1 while the DICOM receiver listens, else 0 (also 0 when receiving is off).', [{ value: status.receiving.listening ? 1 : 0 }]),
    gauge('tls_receiver_listening', '1 while the DICOM TLS receiver listens, else 0 (also 0 when receive.tls is off).', [{ value: status.receiving.tls?.listening === true ? 1 : 0 }]),
    counter('instances_received_total', 'DICOM instances received and staged.', [{ value: counts.instancesReceived }]),
    counter('bytes_received_total', 'Bytes of the instances received (as staged: file meta plus dataset).', [{ value: counts.bytesReceived }]),
    counter('studies_completed_total', 'Studies completed, by the inbox they went to.',
      STUDY_INBOXES.map((inbox) => ({ labels: { inbox }, value: counts.studiesCompleted[inbox] }))),
    counter('instances_sent_total', 'DICOM instances the PACS acknowledged.', [{ value: counts.instancesSent }]),
    counter('bytes_sent_total', 'Dataset bytes of the instances the PACS acknowledged.', [{ value: counts.bytesSent }]),
    counter('zips_sent_total', 'Outbox ZIPs finished, by result (success: deleted; failed: moved to Outbox_Failed).', [
      { labels: { result: 'success' }, value: counts.zipsSent.success },
      { labels: { result: 'failed' }, value: counts.zipsSent.failed },
    ]),
    gauge('outbox_waiting', 'Outbox ZIPs seen or claimed and not yet sent.', [{ value: status.outboxWaiting }]),
    gauge('outbox_unreadable', 'Files in Outbox_Auto that stay unchanged but do not read as a ZIP.', [{ value: status.outboxUnreadable }]),
    gauge('studies_in_progress', 'Studies being received, staged or zipped.', [{ value: status.studiesInProgress }]),
    gauge('failed_items', 'Items in the failed folders.', [
      { labels: { folder: 'Inbox_Failed' }, value: status.failed.inbox },
      { labels: { folder: 'Outbox_Failed' }, value: status.failed.outbox },
    ]),
    gauge('disk_low', '1 while free disk space is below minFreeDiskMegabytes, else 0.', [{ value: status.disk.low ? 1 : 0 }]),
  ];
  if (status.disk.freeBytes !== null) families.push(gauge('disk_free_bytes', 'Free bytes on the storage folder\'s file system.', [{ value: status.disk.freeBytes }]));
  if (status.disk.totalBytes !== null) families.push(gauge('disk_total_bytes', 'Size of the storage folder\'s file system.', [{ value: status.disk.totalBytes }]));
  if (input.process) {
    const p = input.process;
    families.push(
      { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', type: 'gauge', samples: [{ value: p.residentMemoryBytes }] },
      { name: 'process_cpu_seconds_total', help: 'User and system CPU time spent in seconds.', type: 'counter', samples: [{ value: p.cpuSecondsTotal }] },
      { name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch in seconds.', type: 'gauge', samples: [{ value: p.startTimeSeconds }] },
      { name: 'nodejs_heap_used_bytes', help: 'V8 heap in use in bytes.', type: 'gauge', samples: [{ value: p.heapUsedBytes }] },
    );
  }
  return families;
}

/** The `/metrics` body. */
export function renderMetrics(input: MetricsInput): string {
  return formatExposition(bridgeMetricFamilies(input));
}
