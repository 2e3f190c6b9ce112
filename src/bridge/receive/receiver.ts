/**
 * The DICOM receiving side (SPEC §1): an acceptor that answers C-ECHO and streams every
 * C-STORE into its study's staging folder. Composes the standard's layers (ul/, dimse/) with
 * the bridge's instance sink; knows nothing of zipping.
 */
import { DimseServiceProvider } from '../../dicom/dimse/service.js';
import { STATUS_SUCCESS } from '../../dicom/dimse/status.js';
import { createAcceptor, type Acceptor, type AcceptorCloseOptions, type AcceptorStats, type AcceptorTls, type CallingPeer, type PeerRefusal } from '../../dicom/ul/acceptor.js';
import type { AssociationSlots } from '../../dicom/ul/association-slots.js';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../../dicom/ul/logger.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../implementation.js';
import type { StudyTracker } from '../study/tracker.js';
import type { DiskGuard } from './disk-guard.js';
import { openInstanceSink } from './instance-sink.js';
import { acceptStorageContext } from './presentation-policy.js';
import { InstanceFilePool } from './instance-files.js';

/** Settings of the receiver (a subset of the config's `receive` section). */
export interface ReceiverSettings {
  host: string;
  port: number;
  aeTitle: string;
  maxAssociations: number;
  maxPduLength: number;
  fsync: boolean;
  /** SPEC §5: TCP accept → complete A-ASSOCIATE-RQ (the ARTIM timer, PS3.8 §9.1.5). */
  associationTimeoutSeconds: number;
  /** SPEC §5: no byte arriving on an established association this long → A-ABORT. */
  idleTimeoutSeconds: number;
}

/** The receiver's timeouts: they apply to new connections without re-binding. */
export type ReceiverTimeouts = Pick<ReceiverSettings, 'associationTimeoutSeconds' | 'idleTimeoutSeconds'>;

/** The acceptor's timers for these settings. */
function acceptorTimeouts(settings: ReceiverTimeouts): { artimTimeoutMs: number; idleTimeoutMs: number } {
  return { artimTimeoutMs: settings.associationTimeoutSeconds * 1000, idleTimeoutMs: settings.idleTimeoutSeconds * 1000 };
}

/** A running receiver. */
export interface Receiver {
  /** The bound TCP port (useful with port 0 in tests). */
  readonly port: number;
  readonly activeAssociations: number;
  /** The acceptor's association counts (monitoring). */
  readonly stats: AcceptorStats;
  /** True for the DICOM TLS listener (PS3.15 Annex B). */
  readonly secure?: boolean;
  /** TLS only: a renewed certificate, key or CA bundle for the next connections. */
  setSecureContext?(secureContext: SecureContextOptions): void;
  /** Sets the timeouts of connections accepted from now on (open ones keep theirs). */
  setTimeouts(timeouts: ReceiverTimeouts): void;
  /** Stops accepting connections now; open associations carry on (re-binding the same port). */
  stopListening(): void;
  /**
   * Stops listening and ends the open associations: at once by default, or after letting them
   * finish for up to `drainMs` (then A-ABORT; an instance cut short leaves no file behind).
   */
  close(options?: AcceptorCloseOptions): Promise<void>;
}

/** What the receiver works with besides its settings. */
export interface ReceiverDeps {
  incomingDir: string;
  tracker: StudyTracker;
  log: Logger;
  /** Refuses C-STOREs with A700 while free disk space is low (shared across re-binds). */
  diskGuard?: DiskGuard;
  /** The CRYPE ID element now configured (null = off), checked on every received instance. */
  cridTag?: () => number | null;
  /** The association limit shared by the plain and the TLS listener. */
  slots?: AssociationSlots;
  /** Known peers (`receive.allowedPeers`), read at each association. */
  acceptPeer?: (peer: CallingPeer) => PeerRefusal | null;
  /** Serve DICOM over TLS (the `receive.tls` listener). */
  tls?: AcceptorTls;
}

/** Starts listening; rejects if the port cannot be bound (e.g. EADDRINUSE, EACCES). */
export async function startReceiver(settings: ReceiverSettings, deps: ReceiverDeps): Promise<Receiver> {
  const log = deps.log.child({ component: deps.tls === undefined ? 'receiver' : 'receiver-tls' });
  const instanceFiles = new InstanceFilePool(deps.incomingDir, settings.fsync);
  const sinkContext = { instanceFiles, fsync: settings.fsync, tracker: deps.tracker, log, diskGuard: deps.diskGuard, cridTag: deps.cridTag };
  const acceptor: Acceptor = createAcceptor({
    aeTitle: settings.aeTitle || null,
    maxPduLength: settings.maxPduLength,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    acceptContext: acceptStorageContext,
    maxAssociations: settings.maxAssociations,
    ...acceptorTimeouts(settings),
    onAssociation: (channel) =>
      new DimseServiceProvider(channel, {
        onEcho: () => STATUS_SUCCESS,
        onStore: (rq) => openInstanceSink(rq, sinkContext),
      }, log),
    log,
    slots: deps.slots,
    acceptPeer: deps.acceptPeer,
    tls: deps.tls,
  });
  let port: number;
  try {
    ({ port } = await acceptor.listen(settings.port, settings.host));
  } catch (err) {
    // Nothing is left behind: no open server, no empty instance files in the incoming folder.
    await acceptor.close();
    await instanceFiles.close();
    throw err;
  }
  log.info({ host: settings.host, port, aeTitle: settings.aeTitle || '(any)', tls: deps.tls !== undefined }, deps.tls === undefined ? 'DICOM receiver listening' : 'DICOM TLS receiver listening');
  return {
    port,
    get activeAssociations() {
      return acceptor.activeAssociations;
    },
    get stats() {
      return acceptor.stats;
    },
    secure: acceptor.secure,
    setSecureContext: (secureContext) => acceptor.setSecureContext(secureContext),
    setTimeouts: (timeouts) => acceptor.setTimeouts(acceptorTimeouts(timeouts)),
    stopListening: () => acceptor.stopListening(),
    close: async (options) => {
      await acceptor.close(options);
      await instanceFiles.close();
    },
  };
}
