/**
 * Groups received instances into studies and decides when a study is complete (SPEC §1):
 * a study is complete when no instance of it has arrived for the quiet time, whatever the
 * associations did meanwhile, and while none of its instances is still being received.
 *
 * Each study lives in a staging folder of its own "generation": once a study is handed over
 * for zipping, a later instance of the same study opens a new folder, so zipping never races
 * with arrivals and a re-sent study yields a second ZIP instead of touching the first.
 */
import { mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fsyncDir, openDir, type DirHandle } from '../durable-fs.js';
import type { ProgressRegistry, ReceivingHandle, StudyLabel } from '../progress/registry.js';
import { digest, uidFileName } from './safe-names.js';

/** What the receiver learnt about one staged instance (from its dataset). */
export interface InstanceInfo {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: string;
  instanceNumber: string;
  modality: string;
}

/** Who delivered a study's instances, and when (the log book's details; empty when recovered). */
export interface StudyDelivery {
  /** When the first and the last instance of this generation were placed (ms since the epoch). */
  firstPlacedMs: number;
  lastPlacedMs: number;
  /** Distinct calling AE titles of the delivering associations, first first (at most DELIVERY_SOURCES_MAX). */
  callingAeTitles: string[];
  /** Distinct peer addresses (without the port, which changes per association). */
  peerAddresses: string[];
}

/** How many distinct AE titles and addresses a study keeps. */
export const DELIVERY_SOURCES_MAX = 4;

/** A study folder handed over for zipping. */
export interface StagedStudy {
  /** Patient + study grouping key, also the folder name's prefix. */
  key: string;
  /** Its staging folder. */
  dir: string;
  /** Infos by file name, for the instances received in this run (recovered ones are absent). */
  instances: Map<string, InstanceInfo>;
  /** Who delivered it; absent for a folder recovered or retried (nothing received in this run). */
  delivery?: StudyDelivery;
}

/** One received instance, committed in the incoming folder, to be placed in its study. */
export interface InstanceArrival {
  tempPath: string;
  patientId: string;
  studyInstanceUid: string;
  info: InstanceInfo;
  /** The file's size in bytes (the receiver knows it: it wrote the file). */
  size: number;
  /** Runs before the file is moved (the receiver closes it: Windows renames no open file). */
  beforeMove?(): Promise<void>;
  /** What the GUI shows of the study while it arrives. */
  label?: StudyLabel;
  /** The association it came on: its calling AE title and the peer's `address:port`. */
  source?: { callingAeTitle: string; peer: string };
}

/** `address:port` without the port (IPv6 addresses keep their colons). */
function addressOf(peer: string): string {
  return peer.replace(/:[0-9?]+$/, '');
}

function noteDelivery(study: StagedStudy, arrival: InstanceArrival, nowMs: number): void {
  const delivery = (study.delivery ??= { firstPlacedMs: nowMs, lastPlacedMs: nowMs, callingAeTitles: [], peerAddresses: [] });
  delivery.lastPlacedMs = nowMs;
  if (!arrival.source) return;
  const add = (list: string[], value: string) => {
    if (value !== '' && !list.includes(value) && list.length < DELIVERY_SOURCES_MAX) list.push(value);
  };
  add(delivery.callingAeTitles, arrival.source.callingAeTitle.trim());
  add(delivery.peerAddresses, addressOf(arrival.source.peer));
}

interface ActiveStudy {
  study: StagedStudy;
  /** The staging folder, created and open for fsyncs. */
  ready: Promise<DirHandle>;
  lastArrivalMs: number;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
  /** Its item in the "In progress" panel. */
  progress: ReceivingHandle | undefined;
}

/** Options of {@link StudyTracker}. */
export interface StudyTrackerOptions {
  stagingDir: string;
  quietMs: number;
  /**
   * Sync the moves into a study's folder before it is handed over (the `receive.fsync`
   * setting): its folder here, and the incoming folder they left through `syncIncoming`, so
   * that once a ZIP holds them no committed file of it can come back after a power cut.
   */
  fsync: boolean;
  syncIncoming?(): Promise<void>;
  /** Called once per study generation when it is complete; the tracker no longer owns it. */
  onComplete(study: StagedStudy): void;
  /** Called after each instance is placed, with its file size (monitoring counters). */
  onPlaced?(bytes: number): void;
  /** Where the studies being received are shown while they arrive (GUI). */
  progress?: ProgressRegistry;
  now?: () => number;
}

let lastKey = { input: '', key: '' };

/** Separates the grouping key from the generation suffix in staging folder names. */
const GENERATION_SEPARATOR = '~';

/** Tracks the studies being staged. */
export class StudyTracker {
  private readonly active = new Map<string, ActiveStudy>();
  private readonly options: StudyTrackerOptions;
  private quietMs: number;
  private generation = 0;
  /** Set by dispose(): nothing more is staged (an instance finishing after a shutdown's abort). */
  private disposed = false;
  /** Moves into staging folders under way: a clean stop waits for them. */
  private readonly moves = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(options: StudyTrackerOptions) {
    this.options = options;
    this.quietMs = options.quietMs;
    this.now = options.now ?? Date.now;
  }

  /** The grouping key of a patient's study: readable UID plus a digest of both values. */
  static keyOf(patientId: string, studyInstanceUid: string): string {
    // Asked several times per instance, mostly for the same study: the last answer is kept.
    const input = `${patientId}\0${studyInstanceUid}`;
    if (input !== lastKey.input) lastKey = { input, key: `${uidFileName(studyInstanceUid)}_${digest(input, 8)}` };
    return lastKey.key;
  }

  /** The grouping key of a staging folder's name (`<key>~<generation>`). */
  static keyOfFolder(name: string): string {
    return name.split(GENERATION_SEPARATOR)[0]!;
  }

  /** Number of studies currently being staged. */
  get size(): number {
    return this.active.size;
  }

  /** Applies a new quiet time to the studies being staged too. */
  setQuietMs(ms: number): void {
    this.quietMs = ms;
    for (const entry of this.active.values()) this.arm(entry);
  }

  /**
   * Marks an instance of the study as being received, so the study is not closed under it
   * (a 300 MB instance may take longer than the quiet time). Returns the matching release.
   */
  receiving(patientId: string, studyInstanceUid: string): () => void {
    const entry = this.open(StudyTracker.keyOf(patientId, studyInstanceUid));
    entry.inFlight += 1;
    entry.progress?.timing(entry.inFlight, entry.lastArrivalMs, this.quietMs);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.inFlight -= 1;
      entry.lastArrivalMs = this.now();
      this.arm(entry);
    };
  }

  /** Resolves once the study's staging folder exists (rejects when it cannot be created). */
  async folderReady(patientId: string, studyInstanceUid: string): Promise<void> {
    await this.open(StudyTracker.keyOf(patientId, studyInstanceUid)).ready;
  }

  /**
   * Takes a committed instance into its study and moves its file into the study's staging
   * folder in the background; a later copy of the same SOP Instance UID replaces the earlier
   * one. The move needs no fsync of its own: the file is durable where it is (commit-record.ts),
   * and the study's folders are synced once before it is handed over. Returns the folder's
   * name (the study's id in the technical log) at once, and `moved`, which rejects when the
   * move failed (the file then stays committed in the incoming folder for the next start).
   */
  place(arrival: InstanceArrival): { study: string; moved: Promise<void> } {
    const entry = this.open(StudyTracker.keyOf(arrival.patientId, arrival.studyInstanceUid));
    entry.inFlight += 1;
    const fileName = `${uidFileName(arrival.info.sopInstanceUid)}.dcm`;
    entry.study.instances.set(fileName, arrival.info);
    noteDelivery(entry.study, arrival, this.now());
    this.options.onPlaced?.(arrival.size);
    entry.progress?.placed(arrival.size, arrival.label, arrival.source?.callingAeTitle);
    const moving = (async () => {
      try {
        await entry.ready;
        await arrival.beforeMove?.();
        await rename(arrival.tempPath, join(entry.study.dir, fileName));
      } catch (err) {
        entry.study.instances.delete(fileName);
        throw err;
      } finally {
        entry.inFlight -= 1;
        entry.lastArrivalMs = this.now();
        this.arm(entry);
      }
    })();
    const moved = moving.finally(() => this.moves.delete(moved));
    moved.catch(() => undefined); // the caller reports it
    this.moves.add(moved);
    return { study: basename(entry.study.dir), moved };
  }

  /** Takes over a staging folder left by an earlier run (crash recovery). */
  adopt(dir: string): void {
    const key = StudyTracker.keyOfFolder(basename(dir));
    const entry: ActiveStudy = {
      study: { key, dir, instances: new Map() },
      ready: openDir(dir),
      lastArrivalMs: this.now(),
      inFlight: 0,
      timer: undefined,
      progress: this.options.progress?.startReceiving(basename(dir), { quietMs: this.quietMs, recovered: true }),
    };
    const previous = this.active.get(key);
    this.active.set(key, entry);
    if (previous) void this.close(previous);
    this.arm(entry);
  }

  /**
   * Hands every idle study over at once (tests, shutdown); resolves once all are handed over.
   * Acknowledged instances still moving into their folder are waited for first: their study
   * is not being received any more.
   */
  async completeAll(): Promise<void> {
    await Promise.allSettled([...this.moves]);
    const entries = [...this.active.values()].filter((e) => e.inFlight === 0);
    await Promise.all(entries.map((entry) => this.close(entry)));
  }

  /**
   * Stops all timers without handing anything over (the folders stay for recovery). Later
   * `receiving`/`place` calls throw: a stray new generation would be zipped apart at the next start.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.allSettled([...this.moves]);
    const entries = [...this.active.values()];
    this.active.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.progress?.end();
    }
    await Promise.all(entries.map((entry) => entry.ready.then((dir) => dir.close(), () => undefined)));
  }

  private open(key: string): ActiveStudy {
    // Its association is gone, so it was never acknowledged: refused, the PACS sends it again.
    if (this.disposed) throw new Error('the study tracker is stopped');
    const existing = this.active.get(key);
    if (existing) return existing;
    this.generation += 1;
    const dir = join(
      this.options.stagingDir,
      `${key}${GENERATION_SEPARATOR}${this.now().toString(36)}-${this.generation.toString(36)}`,
    );
    const entry: ActiveStudy = {
      study: { key, dir, instances: new Map() },
      ready: mkdir(dir).then(() => fsyncDir(this.options.stagingDir)).then(() => openDir(dir)),
      lastArrivalMs: this.now(),
      inFlight: 0,
      timer: undefined,
      progress: this.options.progress?.startReceiving(basename(dir), { quietMs: this.quietMs }),
    };
    entry.ready.catch(() => undefined); // awaited by place(), which reports the error
    this.active.set(key, entry);
    return entry;
  }

  private arm(entry: ActiveStudy): void {
    clearTimeout(entry.timer);
    entry.progress?.timing(entry.inFlight, entry.lastArrivalMs, this.quietMs);
    const dueInMs = Math.max(0, entry.lastArrivalMs + this.quietMs - this.now());
    entry.timer = setTimeout(() => this.onTimer(entry), dueInMs);
    entry.timer.unref();
  }

  private onTimer(entry: ActiveStudy): void {
    if (this.active.get(entry.study.key) !== entry) return;
    // Still receiving: the release will re-arm. Otherwise complete when quiet long enough.
    if (entry.inFlight > 0) return;
    if (this.now() - entry.lastArrivalMs < this.quietMs) {
      this.arm(entry);
      return;
    }
    void this.close(entry);
  }

  private close(entry: ActiveStudy): Promise<void> {
    clearTimeout(entry.timer);
    if (this.active.get(entry.study.key) === entry) this.active.delete(entry.study.key);
    // A folder that could not be created holds nothing to zip; place() reported the error.
    return entry.ready.then(
      async (dir) => {
        try {
          if (this.options.fsync) {
            await dir.sync();
            await this.options.syncIncoming?.();
          }
        } catch {
          // A disk that cannot sync a folder fails the ZIP's own fsync next, loudly, and the
          // study goes to Inbox_Failed with the reason; handing it over loses nothing.
        } finally {
          await dir.close().catch(() => undefined);
        }
        // Handed over first, so the panel moves the study from receiving to zipping at once.
        this.options.onComplete(entry.study);
        entry.progress?.end();
      },
      () => entry.progress?.end(),
    );
  }
}
