/**
 * What the bridge is doing right now, for the GUI's "In progress" panel (SPEC §7): studies
 * being received (and the quiet time before they are zipped), studies being zipped, and the
 * Outbox ZIP being sent. The receive, zip and send paths each hold a handle to their own item
 * and report through its methods; the registry owns every item and gives out a bounded,
 * serialisable snapshot.
 *
 * Per-instance reports only update counters in memory. Listeners hear of a change once per
 * snapshot taken (the first change after it), so a busy receiver costs one flag check per
 * instance and whoever pushes snapshots decides how often to take one.
 */

/** What the GUI shows of a study: decoded patient name, study date (DA), modality. */
export interface StudyLabel {
  patientName: string;
  studyDate: string;
  modality: string;
}

/** A study being received. Times are epoch milliseconds of the bridge's clock. */
export interface ReceivingProgress {
  /** The study generation's staging folder name. */
  id: string;
  patientName: string;
  studyDate: string;
  /** Distinct modalities so far, sorted, joined by "-" (as the log book writes them). */
  modality: string;
  callingAeTitle: string;
  instances: number;
  bytes: number;
  /** When the last instance arrived (or the study was opened). */
  lastArrival: number;
  /** The configured quiet time. */
  quietMs: number;
  /** When the quiet time ends and zipping starts; null while an instance is being received. */
  quietEndsAt: number | null;
  /** Left by an earlier run and taken over at start: the counts are unknown. */
  recovered: boolean;
}

/** A study waiting for, or being, zipped. */
export interface ZippingProgress {
  id: string;
  patientName: string;
  studyDate: string;
  modality: string;
  state: 'waiting' | 'zipping';
  entriesDone: number;
  /** 0 until the staged files were counted. */
  entriesTotal: number;
}

/** An Outbox ZIP being sent. */
export interface SendingProgress {
  id: string;
  zipName: string;
  patientName: string;
  studyDate: string;
  modality: string;
  /** `opening`: the ZIP is being read; `retry-wait`: waiting for `nextRetryAt`. */
  state: 'opening' | 'sending' | 'retry-wait';
  /** Instances the PACS stored (success or warning). */
  instancesSent: number;
  /** Instances the PACS answered with a failure (or that could not be read). */
  instancesFailed: number;
  instancesTotal: number;
  bytesSent: number;
  /** Dataset bytes per second over the current attempt; 0 before the first instance. */
  bytesPerSecond: number;
  /** 1-based; 0 before the first attempt. */
  attempt: number;
  attempts: number;
  nextRetryAt: number | null;
}

/** A list cut to what the panel shows, with how many more there are. */
export interface ProgressList<T> {
  items: T[];
  more: number;
}

/** GET /api/progress and the `progress` event. `now` lets the page correct for clock skew. */
export interface ProgressSnapshot {
  now: number;
  receiving: ProgressList<ReceivingProgress>;
  zipping: ProgressList<ZippingProgress>;
  sending: ProgressList<SendingProgress>;
}

/** Items per list in a snapshot; the rest are only counted. */
export const MAX_SHOWN = 100;

/** Options of {@link ProgressRegistry}. */
export interface ProgressRegistryOptions {
  now?: () => number;
  maxShown?: number;
}

interface ReceivingItem {
  label: StudyLabel;
  modalities: Set<string>;
  callingAeTitle: string;
  instances: number;
  bytes: number;
  lastArrival: number;
  quietMs: number;
  inFlight: number;
  recovered: boolean;
}

interface SendingItem {
  zipName: string;
  label: StudyLabel;
  state: SendingProgress['state'];
  instancesSent: number;
  instancesFailed: number;
  instancesTotal: number;
  bytesSent: number;
  attemptBytes: number;
  attemptStartedAt: number;
  attempt: number;
  attempts: number;
  nextRetryAt: number | null;
}

const NO_LABEL: StudyLabel = { patientName: '', studyDate: '', modality: '' };

/** A study being received, as its tracker entry reports it. */
export interface ReceivingHandle {
  /** One instance was placed in the study's folder. */
  placed(bytes: number, label: StudyLabel | undefined, callingAeTitle: string | undefined): void;
  /** The tracker's timing: instances being received, last arrival, quiet time. */
  timing(inFlight: number, lastArrival: number, quietMs: number): void;
  /** The study left the receiving stage (handed over for zipping, or the tracker stopped). */
  end(): void;
}

/** A study in the completion queue. */
export interface ZippingHandle {
  /** Zipping began with this many entries. */
  started(entriesTotal: number): void;
  entryDone(): void;
  end(): void;
}

/** An Outbox ZIP in the sender. */
export interface SendingHandle {
  /** The ZIP was read: this many instances to send. */
  opened(instancesTotal: number): void;
  /** The first instance's study fields, once read. */
  describe(label: StudyLabel): void;
  /** Attempt `n` of `of` begins (1-based). */
  attempt(n: number, of: number): void;
  /** The PACS answered for one instance of `bytes` dataset bytes. */
  answered(bytes: number, stored: boolean): void;
  /** The next attempt starts in `waitMs`. */
  retryIn(waitMs: number): void;
  end(): void;
}

/** The live items, observable. One per bridge. */
export class ProgressRegistry {
  private readonly receiving = new Map<string, ReceivingItem>();
  private readonly zipping = new Map<string, ZippingProgress>();
  private readonly sending = new Map<string, SendingItem>();
  private readonly listeners = new Set<() => void>();
  /** A change happened since the last snapshot (listeners were told). */
  private dirty = false;
  private readonly now: () => number;
  private readonly maxShown: number;

  constructor(options: ProgressRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxShown = options.maxShown ?? MAX_SHOWN;
  }

  /** Calls `listener` at the first change after each snapshot; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current items, each list cut to `maxShown` (oldest first). */
  snapshot(): ProgressSnapshot {
    this.dirty = false;
    const now = this.now();
    const receiving = [...this.receiving].map(([id, r]): ReceivingProgress => ({
      id,
      patientName: r.label.patientName,
      studyDate: r.label.studyDate,
      modality: [...r.modalities].sort().join('-'),
      callingAeTitle: r.callingAeTitle,
      instances: r.instances,
      bytes: r.bytes,
      lastArrival: r.lastArrival,
      quietMs: r.quietMs,
      quietEndsAt: r.inFlight > 0 ? null : r.lastArrival + r.quietMs,
      recovered: r.recovered,
    }));
    const sending = [...this.sending].map(([id, s]): SendingProgress => {
      const elapsedMs = now - s.attemptStartedAt;
      return {
        id,
        zipName: s.zipName,
        ...s.label,
        state: s.state,
        instancesSent: s.instancesSent,
        instancesFailed: s.instancesFailed,
        instancesTotal: s.instancesTotal,
        bytesSent: s.bytesSent,
        bytesPerSecond: s.state === 'sending' && elapsedMs > 0 ? Math.round((s.attemptBytes * 1000) / elapsedMs) : 0,
        attempt: s.attempt,
        attempts: s.attempts,
        nextRetryAt: s.nextRetryAt,
      };
    });
    return {
      now,
      receiving: this.bounded(receiving),
      zipping: this.bounded([...this.zipping.values()].map((z) => ({ ...z }))),
      sending: this.bounded(sending),
    };
  }

  /** Registers a study being received under its staging folder name. */
  startReceiving(id: string, options: { quietMs: number; recovered?: boolean }): ReceivingHandle {
    const item: ReceivingItem = {
      label: NO_LABEL,
      modalities: new Set(),
      callingAeTitle: '',
      instances: 0,
      bytes: 0,
      lastArrival: this.now(),
      quietMs: options.quietMs,
      inFlight: 0,
      recovered: options.recovered ?? false,
    };
    this.receiving.set(id, item);
    this.changed();
    return {
      placed: (bytes, label, callingAeTitle) => {
        item.instances += 1;
        item.bytes += bytes;
        if (label !== undefined) {
          if (item.label === NO_LABEL) item.label = label;
          if (label.modality !== '') item.modalities.add(label.modality);
        }
        if (callingAeTitle !== undefined && item.callingAeTitle === '') item.callingAeTitle = callingAeTitle;
        this.changed();
      },
      timing: (inFlight, lastArrival, quietMs) => {
        item.inFlight = inFlight;
        item.lastArrival = lastArrival;
        item.quietMs = quietMs;
        this.changed();
      },
      end: () => this.remove(this.receiving, id, item),
    };
  }

  /**
   * Registers a study queued for zipping. It keeps the label it had while being received
   * (same id), so call this before that item ends.
   */
  startZipping(id: string): ZippingHandle {
    const received = this.receiving.get(id);
    const label = received?.label ?? NO_LABEL;
    const item: ZippingProgress = {
      id,
      patientName: label.patientName,
      studyDate: label.studyDate,
      modality: received ? [...received.modalities].sort().join('-') : '',
      state: 'waiting',
      entriesDone: 0,
      entriesTotal: 0,
    };
    this.zipping.set(id, item);
    this.changed();
    return {
      started: (entriesTotal) => {
        item.state = 'zipping';
        item.entriesTotal = entriesTotal;
        item.entriesDone = 0;
        this.changed();
      },
      entryDone: () => {
        item.entriesDone += 1;
        this.changed();
      },
      end: () => this.remove(this.zipping, id, item),
    };
  }

  /** Registers an Outbox ZIP the sender took; `id` is its claimed file name. */
  startSending(id: string, zipName: string): SendingHandle {
    const item: SendingItem = {
      zipName,
      label: NO_LABEL,
      state: 'opening',
      instancesSent: 0,
      instancesFailed: 0,
      instancesTotal: 0,
      bytesSent: 0,
      attemptBytes: 0,
      attemptStartedAt: this.now(),
      attempt: 0,
      attempts: 0,
      nextRetryAt: null,
    };
    this.sending.set(id, item);
    this.changed();
    return {
      opened: (instancesTotal) => {
        item.instancesTotal = instancesTotal;
        this.changed();
      },
      describe: (label) => {
        item.label = label;
        this.changed();
      },
      attempt: (n, of) => {
        item.state = 'sending';
        item.attempt = n;
        item.attempts = of;
        item.attemptBytes = 0;
        item.attemptStartedAt = this.now();
        item.nextRetryAt = null;
        this.changed();
      },
      answered: (bytes, stored) => {
        if (stored) {
          item.instancesSent += 1;
          item.bytesSent += bytes;
          item.attemptBytes += bytes;
        } else {
          item.instancesFailed += 1;
        }
        this.changed();
      },
      retryIn: (waitMs) => {
        item.state = 'retry-wait';
        item.nextRetryAt = this.now() + waitMs;
        this.changed();
      },
      end: () => this.remove(this.sending, id, item),
    };
  }

  private bounded<T>(items: T[]): ProgressList<T> {
    return { items: items.slice(0, this.maxShown), more: Math.max(0, items.length - this.maxShown) };
  }

  /** Removes the item if it is still the one registered under `id` (a later one may reuse it). */
  private remove<T>(map: Map<string, T>, id: string, item: T): void {
    if (map.get(id) !== item) return;
    map.delete(id);
    this.changed();
  }

  private changed(): void {
    if (this.dirty) return;
    this.dirty = true;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the receive and send paths must not see it.
      }
    }
  }
}
