/**
 * Sends instances to a PACS by C-STORE (SPEC §2): plans the presentation contexts from the
 * instances themselves, opens as many associations as the 128-context limit needs, streams
 * each data set as it is, turns every DIMSE status into a per-instance result and every
 * association failure into one readable, retry-classified {@link SendError}.
 * PS3.4 Annex B (Storage Service Class), PS3.7 §9.1.1 (C-STORE), PS3.8 §7.1 and §9.3.2.2.
 *
 * This module only plans and orchestrates; the bytes go through the DICOM layer's requestor
 * and cStore (src/dicom/README.md says why that layer is our own), which send exactly the
 * bytes read, one PDU at a time.
 */
import { describeStatus, formatStatus, statusCategory, STATUS_PROCESSING_FAILURE, STATUS_SOP_CLASS_NOT_SUPPORTED } from '../../dicom/dimse/status.js';
import { cStore } from '../../dicom/dimse/store.js';
import {
  AssociationAbortedError,
  AssociationRejectedError,
  DicomError,
  DicomTimeoutError,
  DicomTlsError,
  ERR_ASSOCIATION_CLOSED,
  ERR_CONNECT,
  ERR_NOT_ESTABLISHED,
} from '../../dicom/errors.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import { rejectReasonText } from '../../dicom/ul/reasons.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { CloseReason } from '../../dicom/ul/primitives.js';
import type { ProposedContext, RequestorAssociation } from '../../dicom/ul/requestor.js';
import { TlsMaterialError } from '../../tls/material.js';
import { InstanceQueue } from './instance-queue.js';
import { openScuSession, type ScuSession, type SendTarget } from './scu-session.js';
import { certificateNamesOf, explainTlsFailure, explainTlsMaterial } from './tls-failure.js';

export type { ProposedContext } from '../../dicom/ul/requestor.js';

/** Where to send: the PACS's address and the AE titles of both sides (PS3.8 §9.3.2), and TLS. */
export type { SendTarget, SendTls } from './scu-session.js';

/** One instance to store, as found in the file or ZIP entry (PS3.10 §7.1 file meta). */
export interface OutgoingInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /**
   * Opens the dataset bytes (no preamble/meta) in that transfer syntax: a Buffer when it is
   * small enough to hold, else a stream. Called once, as the previous instance on the same
   * association goes on the wire (so reading overlaps sending: work that would hold up the
   * main thread should wait for the next turn of the event loop); a stream not sent is destroyed.
   */
  openDataset(): Promise<Buffer | AsyncIterable<Buffer>>;
  /**
   * Called with a dataset `openDataset` gave as a Buffer once the PACS answered for it: no
   * part of it is read any more, so its memory may be freed at once.
   */
  releaseDataset?(dataset: Buffer): void;
}

/**
 * What became of one instance. `status` is the PACS's C-STORE status (PS3.4 Table B.2-1), or,
 * when the instance never reached the PACS, a failure status set here: 0x0122 when the PACS
 * refused its presentation context, 0x0110 when its data could not be read.
 */
export interface InstanceResult {
  sopInstanceUid: string;
  status: number;
  errorComment?: string;
  /** readable one-liner */
  text: string;
}

/** Timeouts, our PDU limit, logging and progress of {@link sendInstances}. */
export interface SendOptions {
  /** TCP connect, and the wait for the A-ASSOCIATE answer and the A-RELEASE answer (ARTIM). */
  connectTimeoutMs: number;
  /** Wait for each C-STORE response once its data set is sent. */
  responseTimeoutMs: number;
  /** Our Maximum Length, announced to the PACS (PS3.8 Annex D.1). */
  maxPduLength: number;
  log: Logger;
  /** Called after each instance (progress, and so a retry can skip what is done). */
  onResult?(r: InstanceResult): void;
  /** Once aborted, no further instance is started: the association is released and SendError(stopped) thrown. */
  signal?: AbortSignal;
  /** Parallel associations to spread the instances over (SPEC §5 `send.associations`); default 1. */
  associations?: number;
}

/** Text of the SendError thrown when `signal` stops a send between instances. */
export const SEND_STOPPED = 'stopped between instances (the bridge is stopping or sending was switched off)';

/** A planned association: the contexts to propose and the instances that travel on them. */
export interface AssociationPlan {
  contexts: ProposedContext[];
  instances: OutgoingInstance[];
}

/**
 * The send cannot go on because the association could not be opened or was lost. `transient`
 * says whether a later retry can succeed (connection refused, timeouts, aborts, a lost
 * connection, a rejection whose result is "transient"); a permanent rejection is not retried.
 */
export class SendError extends Error {
  readonly code = 'ERR_SEND';
  readonly transient: boolean;
  /** One line for the log book, e.g. "association rejected by the PACS: called AE title not recognised (permanent)". */
  readonly reason: string;
  constructor(reason: string, transient: boolean, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'SendError';
    this.transient = transient;
    this.reason = reason;
  }
}

/** At most 128 presentation contexts per association: odd IDs 1..255 (PS3.8 §9.3.2.2). */
export const MAX_CONTEXTS_PER_ASSOCIATION = 128;

function contextKey(sopClassUid: string, transferSyntaxUid: string): string {
  return `${sopClassUid}\u0000${transferSyntaxUid}`;
}

/**
 * Plans presentation contexts: one per distinct (SOP class, transfer syntax) of the instances,
 * proposing the file's own syntax only (we never convert), at most 128 per association (split
 * into several plans). Context IDs are odd, 1..255, unique within a plan; instances keep their
 * order within a plan. PS3.8 §9.3.2.2, PS3.4 §B.3.1.
 */
export function planAssociations(instances: readonly OutgoingInstance[]): AssociationPlan[] {
  const planOfKey = new Map<string, AssociationPlan>();
  const plans: AssociationPlan[] = [];
  for (const instance of instances) {
    const key = contextKey(instance.sopClassUid, instance.transferSyntaxUid);
    let plan = planOfKey.get(key);
    if (plan === undefined) {
      let last = plans.at(-1);
      if (last === undefined || last.contexts.length >= MAX_CONTEXTS_PER_ASSOCIATION) {
        last = { contexts: [], instances: [] };
        plans.push(last);
      }
      plan = last;
      plan.contexts.push({
        pcId: plan.contexts.length * 2 + 1,
        abstractSyntax: instance.sopClassUid,
        transferSyntaxes: [instance.transferSyntaxUid],
      });
      planOfKey.set(key, plan);
    }
    plan.instances.push(instance);
  }
  return plans;
}

/** Storage SOP class names for readable texts (PS3.6 Table A-1); others are shown by UID. */
const SOP_CLASS_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.1', 'CR Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.1.1', 'Digital X-Ray Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.1.1.1', 'Digital X-Ray Image Storage (processing)'],
  ['1.2.840.10008.5.1.4.1.1.1.2', 'Digital Mammography Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.1.2.1', 'Digital Mammography Image Storage (processing)'],
  ['1.2.840.10008.5.1.4.1.1.2', 'CT Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.2.1', 'Enhanced CT Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.3.1', 'Ultrasound Multi-frame Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.4', 'MR Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.4.1', 'Enhanced MR Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.6.1', 'Ultrasound Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.7.4', 'Multi-frame True Color Secondary Capture Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.9.1.1', '12-lead ECG Waveform Storage'],
  ['1.2.840.10008.5.1.4.1.1.11.1', 'Grayscale Softcopy Presentation State Storage'],
  ['1.2.840.10008.5.1.4.1.1.12.1', 'X-Ray Angiographic Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.12.2', 'X-Ray Radiofluoroscopic Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.13.1.3', 'Breast Tomosynthesis Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.20', 'Nuclear Medicine Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.66.4', 'Segmentation Storage'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4', 'VL Photographic Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.88.11', 'Basic Text SR Storage'],
  ['1.2.840.10008.5.1.4.1.1.88.22', 'Enhanced SR Storage'],
  ['1.2.840.10008.5.1.4.1.1.88.33', 'Comprehensive SR Storage'],
  ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF Storage'],
  ['1.2.840.10008.5.1.4.1.1.128', 'PET Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.481.1', 'RT Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.481.2', 'RT Dose Storage'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'RT Structure Set Storage'],
  ['1.2.840.10008.5.1.4.1.1.481.5', 'RT Plan Storage'],
]);

/** "CT Image Storage", or the UID when we do not know the name. PS3.6 Table A-1. */
export function sopClassName(uid: string): string {
  return SOP_CLASS_NAMES.get(uid) ?? `SOP class ${uid}`;
}

/** "JPEG 2000 Image Compression (Lossless Only)", or the UID. PS3.6 Table A-1. */
export function transferSyntaxName(uid: string): string {
  return transferSyntaxInfo(uid)?.name ?? `transfer syntax ${uid}`;
}

/** "10 s", "1.5 s" or "250 ms", for texts an administrator reads. */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/** Success and warnings (0xB000, 0xB006, 0xB007, …) mean the PACS keeps the instance. PS3.7 Annex C. */
export function instanceSent(status: number): boolean {
  const category = statusCategory(status);
  return category === 'success' || category === 'warning';
}

/** "processing failure" from "0x0110 Failure: processing failure". */
function statusMeaning(status: number): string {
  const text = describeStatus(status).slice(formatStatus(status).length + 1);
  const colon = text.indexOf(': ');
  return colon >= 0 ? text.slice(colon + 2) : text.toLowerCase();
}

/** "status 0xA700 (out of resources)". PS3.7 Annex C. */
export function statusPhrase(status: number): string {
  return `status ${formatStatus(status)} (${statusMeaning(status)})`;
}

function resultText(status: number, errorComment: string | undefined): string {
  const comment = errorComment === undefined ? '' : `: ${errorComment}`;
  switch (statusCategory(status)) {
    case 'success':
      return 'stored by the PACS';
    case 'warning':
      return `stored by the PACS with a warning, ${statusPhrase(status)}${comment}`;
    default:
      return `PACS did not store the instance, ${statusPhrase(status)}${comment}`;
  }
}

/**
 * Why an association could not be opened or used, as one line for an administrator, and
 * whether retrying later can help. Branches on error classes and codes only. `timeoutMs` is the
 * timer that ran out, for the text. A TLS trust failure is permanent (tls-failure.ts).
 * PS3.8 §9.3.4 (Table 9-21), §9.3.8 (Table 9-26); PS3.15 Annex B.1.
 */
export function explainAssociationError(err: unknown, target: SendTarget, timeoutMs: number): { reason: string; transient: boolean } {
  const where = `${target.host}:${target.port}`;
  if (err instanceof TlsMaterialError) return explainTlsMaterial(err);
  if (err instanceof DicomTlsError) {
    return explainTlsFailure(err.tlsCode, {
      where,
      host: target.host,
      caFile: target.tls?.caFile ?? '',
      haveClientCert: (target.tls?.certFile ?? '') !== '',
      certificateNames: certificateNamesOf(err),
    });
  }
  if (err instanceof AssociationRejectedError) {
    const kind = err.result === 2 ? 'transient' : 'permanent';
    let why = rejectReasonText(err.source, err.reason) ?? `source ${err.source}, reason ${err.reason}`;
    if (err.source === 1 && err.reason === 7) why += ` ("${target.calledAeTitle}")`;
    if (err.source === 1 && err.reason === 3) why += ` ("${target.callingAeTitle}")`;
    if (err.source === 1 && err.reason === 1) why += '; the PACS may accept none of the proposed SOP classes and transfer syntaxes';
    return { reason: `association rejected by the PACS: ${why} (${kind})`, transient: err.result === 2 };
  }
  if (err instanceof DicomTimeoutError) {
    if (err.timer === 'TLS') {
      return { reason: `no TLS answer from ${where} within ${formatDuration(timeoutMs)} (timed out; is it a plain DICOM port?)`, transient: true };
    }
    if (err.timer === 'ARTIM') {
      return { reason: `no answer from ${where} within ${formatDuration(timeoutMs)} (timed out; the connection was accepted but the association request got no reply)`, transient: true };
    }
    return { reason: `no answer from ${where} within ${formatDuration(timeoutMs)} (timed out)`, transient: true };
  }
  if (err instanceof AssociationAbortedError) {
    if (err.source === 2 && err.reason === 0) return { reason: `the connection to ${where} closed before the association was established`, transient: true };
    if (err.source === 2) return { reason: `the association with ${where} was aborted: protocol error (provider reason ${err.reason})`, transient: true };
    return { reason: 'the PACS aborted the association', transient: true };
  }
  if (err instanceof DicomError && err.code === ERR_CONNECT) {
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    switch (code) {
      case 'ECONNREFUSED':
        return { reason: `connection refused by ${where} (nothing listens on that port, or a firewall refuses)`, transient: true };
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'EAI_NONAME':
      case 'EAI_NODATA':
        return { reason: `host name not found: "${target.host}" (check the PACS address and the DNS)`, transient: true };
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return { reason: `${where} is unreachable (no route to that address: check the address and the network)`, transient: true };
      case 'ECONNRESET':
        return { reason: `the connection to ${where} was reset by the peer or a firewall`, transient: true };
      case 'ETIMEDOUT':
        return { reason: `no answer from ${where} (timed out)`, transient: true };
      default:
        return { reason: `cannot connect to ${where} (${typeof code === 'string' ? code : 'network error'})`, transient: true };
    }
  }
  return { reason: `cannot connect to ${where}: ${err instanceof Error ? err.message : String(err)}`, transient: true };
}

/** Wraps an instance's data so a read failure is told apart from a network failure. */
class SourceReadError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'SourceReadError';
  }
}

/**
 * A deflated dataset is a bitstream of any length; PS3.5 §A.5 pads an odd one with a trailing
 * NUL, and DCMTK refuses odd fragments ("Odd Fragment Length"). Other syntaxes are even by
 * construction and are sent exactly as stored.
 */
async function* evenLength(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    yield chunk;
  }
  if (total % 2 === 1) yield Buffer.alloc(1);
}

/** {@link evenLength} for a dataset held whole. */
function evenBuffer(dataset: Buffer): Buffer {
  return dataset.length % 2 === 1 ? Buffer.concat([dataset, Buffer.alloc(1)]) : dataset;
}

/** The dataset as cStore sends it: read faults marked, a deflated one padded to even length. */
function wireDataset(instance: OutgoingInstance, dataset: Buffer | AsyncIterable<Buffer>): Buffer | AsyncIterable<Buffer> {
  const deflated = instance.transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
  if (Buffer.isBuffer(dataset)) return deflated ? evenBuffer(dataset) : dataset;
  return deflated ? evenLength(guarded(dataset)) : guarded(dataset);
}

/** An instance taken from the queue whose dataset is being opened ahead of its turn. */
interface Prepared {
  instance: OutgoingInstance;
  /** Undefined when the PACS refused the instance's context (nothing to read). */
  dataset: Promise<{ ok: true; value: Buffer | AsyncIterable<Buffer> } | { ok: false; err: unknown }> | undefined;
}

/** Starts opening the instance's dataset now; a failure is kept for its turn. */
function prepare(instance: OutgoingInstance | undefined, accepted: (i: OutgoingInstance) => boolean): Prepared | undefined {
  if (instance === undefined) return undefined;
  if (!accepted(instance)) return { instance, dataset: undefined };
  return {
    instance,
    dataset: instance.openDataset().then((value) => ({ ok: true as const, value }), (err: unknown) => ({ ok: false as const, err })),
  };
}

/** Gives a prepared instance back to the queue and closes what was opened for it. */
function putBack(prepared: Prepared | undefined, queue: InstanceQueue): void {
  if (prepared === undefined) return;
  queue.giveBack(prepared.instance);
  void prepared.dataset?.then((opened) => {
    if (!opened.ok || Buffer.isBuffer(opened.value)) return;
    const source = opened.value as AsyncIterable<Buffer> & { destroy?: () => void };
    if (typeof source.destroy === 'function') source.destroy();
    else void Promise.resolve(source[Symbol.asyncIterator]().return?.()).catch(() => undefined);
  });
}

async function* guarded(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await it.next();
      } catch (err) {
        finished = true;
        throw new SourceReadError(err);
      }
      if (step.done === true) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    // The consumer stopped early (the association failed): close the source too.
    if (!finished) await Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

/**
 * Sends every instance by C-STORE (PS3.4 Annex B, PS3.7 §9.1.1), spread over up to
 * `options.associations` parallel associations that take the next instance in order from one
 * shared queue. Success and warnings (0xB000, 0xB006, 0xB007) count as sent; any other status
 * is a failure recorded in the result and the send goes on with the next instance. A context
 * the PACS did not accept fails its instances with text like "PACS refused CT Image Storage in
 * JPEG 2000 Image Compression (transfer syntax not supported)"; an instance whose data cannot
 * be read fails alone (the association is aborted, since a half-sent message cannot be taken
 * back, and a new one carries on). Extra associations the PACS refuses, or aborts before they
 * carried an instance, do not fail the send: the others carry everything and one warning
 * names the setting. Rejects with {@link SendError} when no association can be opened or an
 * established one is lost; results reported through `onResult` before that stay valid.
 * Releases every association (A-RELEASE).
 */
export async function sendInstances(target: SendTarget, instances: readonly OutgoingInstance[], options: SendOptions): Promise<InstanceResult[]> {
  const log = options.log.child({ peer: `${target.host}:${target.port}`, calledAet: target.calledAeTitle });
  const results: InstanceResult[] = [];
  const record = (result: InstanceResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  const wanted = Math.max(1, Math.floor(options.associations ?? 1));
  for (const plan of planAssociations(instances)) {
    if (options.signal?.aborted) throw new SendError(SEND_STOPPED, true);
    const run = new PlanRun(plan, wanted);
    await Promise.all(Array.from({ length: Math.min(wanted, plan.instances.length) }, () => runAssociations(target, run, options, log, record)));
    if (run.lost !== undefined) throw run.lost;
    if (run.queue.hasMore()) {
      if (options.signal?.aborted) throw new SendError(SEND_STOPPED, true);
      const refused = run.refused[0] ?? new SendError(`no association with ${target.host}:${target.port} could carry the instances`, true);
      log.warn({ err: refused.cause, transient: refused.transient }, `send: ${refused.reason}`);
      throw refused;
    }
    if (run.refused.length > 0) {
      const kept = run.established - run.dropped;
      log.warn(
        { associations: wanted, accepted: kept, reason: run.refused[0]!.reason },
        `send: the PACS took only ${kept} of the ${wanted} parallel associations asked for by send.associations (first refusal: ${run.refused[0]!.reason}); the instances went over those it took. Lower send.associations to what the PACS accepts.`,
      );
    }
  }
  return results;
}

/** The state the parallel associations of one plan share. */
class PlanRun {
  readonly queue: InstanceQueue;
  /** Associations up now. */
  alive = 0;
  /** Associations opened so far. */
  established = 0;
  /** Of those, the ones the PACS aborted before they carried an instance. */
  dropped = 0;
  /** Set when an association that carried instances was lost: the send fails (and is retried). */
  lost: SendError | undefined;
  /** Associations that could not be opened, or were lost before carrying an instance. */
  readonly refused: SendError[] = [];

  constructor(readonly plan: AssociationPlan, readonly wanted: number) {
    this.queue = new InstanceQueue(plan.instances);
  }
}

/**
 * One of the parallel senders of a plan: opens an association and sends from the shared queue,
 * opening a new one after an unreadable instance forced an abort. Never rejects: what went
 * wrong is left in `run` for {@link sendInstances} to judge once every sender has ended.
 */
async function runAssociations(target: SendTarget, run: PlanRun, options: SendOptions, log: Logger, record: (r: InstanceResult) => void): Promise<void> {
  while (run.queue.hasMore() && run.lost === undefined && options.signal?.aborted !== true) {
    let session: ScuSession;
    try {
      session = await openScuSession(target, run.plan.contexts, { maxPduLength: options.maxPduLength, timeoutMs: options.connectTimeoutMs, log });
    } catch (err) {
      const { reason, transient } = explainAssociationError(err, target, options.connectTimeoutMs);
      // Judged once every sender has ended: fatal only if no association carried the instances.
      log.debug({ err, transient }, `send: ${reason}`);
      run.refused.push(new SendError(reason, transient, { cause: err }));
      return;
    }
    run.alive++;
    run.established++;
    let reopen: boolean;
    try {
      reopen = await sendOnAssociation(session, target, run, options, log, record);
    } finally {
      run.alive--;
    }
    if (!reopen) return;
  }
}

/**
 * Sends instances from the shared queue on one open association until the queue is empty, the
 * send stops, or the association must be dropped. True when an unreadable instance forced an
 * abort and a new association should carry on.
 */
async function sendOnAssociation(
  session: ScuSession,
  target: SendTarget,
  run: PlanRun,
  options: SendOptions,
  log: Logger,
  record: (r: InstanceResult) => void,
): Promise<boolean> {
  const { assoc, user } = session;
  const abort = () => session.abort();
  const plan = run.plan;
  const pcIdOf = new Map(plan.contexts.map((c) => [contextKey(c.abstractSyntax, c.transferSyntaxes[0]!), c.pcId]));
  log.info({ assoc: assoc.id, proposed: plan.contexts.length, accepted: assoc.contexts.size }, 'send: association established');
  let answered = 0;
  const accepted = (i: OutgoingInstance): boolean => assoc.contexts.has(pcIdOf.get(contextKey(i.sopClassUid, i.transferSyntaxUid))!);
  const stopping = (): boolean => options.signal?.aborted === true || run.lost !== undefined;
  let next: Prepared | undefined;
  for (;;) {
    if (stopping()) break; // released below
    const current = next ?? prepare(run.queue.take(), accepted);
    next = undefined;
    if (current === undefined) break;
    const { instance } = current;
    if (current.dataset === undefined) {
      record({ sopInstanceUid: instance.sopInstanceUid, status: STATUS_SOP_CLASS_NOT_SUPPORTED, text: refusedText(instance, assoc, plan) });
      continue;
    }
    const opened = await current.dataset;
    if (!opened.ok) {
      record(readFailure(instance, opened.err));
      continue;
    }
    // Read (and inflate) the next instance while this one is on the wire and with the PACS.
    if (!stopping()) next = prepare(run.queue.take(), accepted);
    const pcId = pcIdOf.get(contextKey(instance.sopClassUid, instance.transferSyntaxUid))!;
    try {
      const rsp = await cStore(user, assoc, pcId, {
        sopClassUid: instance.sopClassUid,
        sopInstanceUid: instance.sopInstanceUid,
        dataset: wireDataset(instance, opened.value),
        timeoutMs: options.responseTimeoutMs,
      });
      answered++;
      if (Buffer.isBuffer(opened.value)) instance.releaseDataset?.(opened.value);
      const result: InstanceResult = { sopInstanceUid: instance.sopInstanceUid, status: rsp.status, text: resultText(rsp.status, rsp.errorComment) };
      if (rsp.errorComment !== undefined) result.errorComment = rsp.errorComment;
      if (!instanceSent(rsp.status)) log.warn({ sopInstanceUid: instance.sopInstanceUid, status: rsp.status }, `send: ${result.text}`);
      record(result);
    } catch (err) {
      // The next instance was not sent: another association (or this plan's next one) takes it.
      putBack(next, run.queue);
      next = undefined;
      if (err instanceof SourceReadError) {
        // The C-STORE is half sent: only an abort ends it. A new association goes on.
        record(readFailure(instance, err.cause));
        await abort();
        return true;
      }
      const ended = session.peerEnded();
      await abort();
      const reason = lostText(err, ended, target, options.responseTimeoutMs);
      if (answered === 0 && run.alive > 1) {
        // An extra association the PACS would not keep: the instance goes back to the others.
        run.queue.giveBack(instance);
        run.dropped++;
        log.debug({ err, assoc: assoc.id }, `send: ${reason}`);
        run.refused.push(new SendError(reason, true, { cause: err }));
        return false;
      }
      log.warn({ err, sopInstanceUid: instance.sopInstanceUid }, `send: ${reason}`);
      run.lost ??= new SendError(reason, true, { cause: err });
      return false;
    }
  }
  putBack(next, run.queue);
  try {
    await assoc.release();
  } catch (err) {
    // Every instance it carried has its answer: a failed release loses nothing.
    log.warn({ err, assoc: assoc.id }, 'send: A-RELEASE failed after every instance was answered');
    await abort();
  }
  return false;
}

function readFailure(instance: OutgoingInstance, err: unknown): InstanceResult {
  const why = err instanceof Error ? err.message : String(err);
  return { sopInstanceUid: instance.sopInstanceUid, status: STATUS_PROCESSING_FAILURE, text: `cannot read the instance's data: ${why}` };
}

/** Why the PACS refused a context; the AC carries per-context results we infer from what it accepted. */
function refusedText(instance: OutgoingInstance, assoc: RequestorAssociation, plan: AssociationPlan): string {
  const accepted = [...assoc.contexts.values()];
  let why = 'SOP class or transfer syntax not supported';
  if (accepted.some((c) => c.abstractSyntax === instance.sopClassUid)) why = 'transfer syntax not supported';
  else if (
    accepted.some((c) => c.transferSyntax === instance.transferSyntaxUid) &&
    plan.contexts.every((c) => c.abstractSyntax !== instance.sopClassUid || !assoc.contexts.has(c.pcId))
  ) why = 'SOP class not supported';
  return `PACS refused ${sopClassName(instance.sopClassUid)} in ${transferSyntaxName(instance.transferSyntaxUid)} (${why})`;
}

/** The readable reason an established association could no longer be used. */
function lostText(err: unknown, ended: CloseReason | null, target: SendTarget, responseTimeoutMs: number): string {
  const where = `${target.host}:${target.port}`;
  if (err instanceof DicomTimeoutError) return `no C-STORE response from ${where} within ${formatDuration(responseTimeoutMs)} (timed out)`;
  if (ended === 'aborted') return 'the PACS aborted the association while an instance was being sent';
  if (ended === 'closed') return `the connection to ${where} was lost while an instance was being sent`;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === ERR_ASSOCIATION_CLOSED || code === ERR_NOT_ESTABLISHED) return `the association with ${where} ended while an instance was being sent`;
  return `sending to ${where} failed: ${err instanceof Error ? err.message : String(err)}`;
}
