/**
 * The admin GUI's listening socket (SPEC §7 with `gui.tls`): one TCP listener that hands each
 * connection to the plain HTTP server or, when `gui.tls` is set, to the HTTPS one (TLS 1.2–1.3,
 * BCP 195 suites). The scheme is a property of the listener, not of the socket, so a Save that
 * switches HTTP ↔ HTTPS on the same address needs no second bind; and with HTTPS on, a plain
 * HTTP request on the port fails the handshake. A renewed certificate (file change, or a Save)
 * replaces the secure context for the next connection, without a restart.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../dicom/ul/logger.js';
import { loadTlsMaterial, TLS12_CIPHERS, TLS_VERSIONS, type TlsMaterial } from '../tls/material.js';
import { watchTlsFiles } from '../tls/watch.js';

/** `gui.tls`: both '' = plain HTTP. */
export interface GuiTlsFiles {
  certFile: string;
  keyFile: string;
}

/** A connection quiet this long is closed (the event stream sends a heartbeat well within it). */
const SOCKET_IDLE_MS = 120_000;

/** True when `gui.tls` asks for HTTPS. */
export function wantsTls(files: GuiTlsFiles): boolean {
  return files.certFile !== '' && files.keyFile !== '';
}

/** Reads and checks the GUI's certificate and key (TlsMaterialError naming certFile/keyFile). */
export function loadGuiTls(files: GuiTlsFiles): Promise<TlsMaterial> {
  return loadTlsMaterial({ certFile: files.certFile, keyFile: files.keyFile });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One GUI address, serving HTTP or HTTPS. */
export class GuiListener {
  private readonly tcp: NetServer;
  private readonly http: HttpServer;
  private https: HttpsServer | null = null;
  private files: GuiTlsFiles = { certFile: '', keyFile: '' };
  private stopWatching: () => void = () => undefined;
  /** Every open connection, and whether it was handed to HTTPS. */
  private readonly sockets = new Map<Socket, boolean>();

  constructor(
    private readonly handler: Handler,
    private readonly log: Logger,
  ) {
    this.http = createHttpServer(handler);
    this.tcp = createNetServer((socket) => this.dispatch(socket));
  }

  /** True while serving HTTPS. */
  get secure(): boolean {
    return this.https !== null;
  }

  /** Binds; resolves with the port (rejects with the listen error, e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.tcp.once('error', onError);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', onError);
        resolve((this.tcp.address() as AddressInfo).port);
      });
    });
  }

  /**
   * Serves with this material from now on (null = plain HTTP); connections already open keep
   * their scheme until they close. Watches the files for renewals.
   */
  useTls(material: TlsMaterial | null, files: GuiTlsFiles): void {
    this.stopWatching();
    this.stopWatching = () => undefined;
    if (material === null) {
      this.https = null;
      this.files = { certFile: '', keyFile: '' };
      return;
    }
    this.files = { ...files };
    const options = { cert: material.cert, key: material.key, ...TLS_VERSIONS, ciphers: TLS12_CIPHERS };
    if (this.https === null) {
      const https = createHttpsServer(options, this.handler);
      // A failed handshake (plain HTTP on this port, an old TLS version) only ends that socket.
      https.on('tlsClientError', (err, socket) => {
        this.log.debug({ err: err.message, peer: socket.remoteAddress }, 'GUI TLS handshake failed');
        socket.destroy();
      });
      this.https = https;
    } else {
      this.https.setSecureContext(options);
    }
    this.stopWatching = watchTlsFiles([files.certFile, files.keyFile], () => void this.reload('file change'));
  }

  /** Re-reads the certificate and key (a renewal); keeps the current ones when the new files are not usable. */
  async reload(why: string): Promise<void> {
    const https = this.https;
    if (https === null) return;
    try {
      const material = await loadGuiTls(this.files);
      if (this.https !== https) return;
      https.setSecureContext({ cert: material.cert, key: material.key, ...TLS_VERSIONS, ciphers: TLS12_CIPHERS });
      this.log.info({ certFile: this.files.certFile, why, validTo: material.certificate?.validTo }, 'GUI certificate reloaded');
    } catch (err) {
      this.log.warn({ err: (err as Error).message, why }, 'GUI certificate not reloaded; the previous one stays in use');
    }
  }

  /** Closes the plain-HTTP connections still open (after a switch to HTTPS they must not stay usable). */
  closePlainConnections(): void {
    for (const [socket, secure] of this.sockets) {
      if (!secure) socket.destroy();
    }
  }

  /** Stops listening and ends every connection. */
  close(): Promise<void> {
    this.stopWatching();
    return new Promise((resolve) => {
      this.tcp.close(() => resolve());
      for (const socket of this.sockets.keys()) socket.destroy();
    });
  }

  private dispatch(socket: Socket): void {
    this.sockets.set(socket, this.https !== null);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setTimeout(SOCKET_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    (this.https ?? this.http).emit('connection', socket);
  }
}
