/**
 * A scripted DICOM peer for abuse tests, after pynetdicom's tests/parrot.py: a raw
 * `net.Socket` client that writes exactly the bytes a test gives it and collects whatever
 * comes back, PDU by PDU. Every wait is bounded, so a server that never answers fails the
 * test instead of hanging it; the bound is a safety net, never a timing assertion.
 */
import net from 'node:net';

/** Default bound for any wait (ms). */
export const DEFAULT_WAIT_MS = 5000;

/** A PDU as received: its type byte, its body and its full bytes. */
export interface RawPdu {
  type: number;
  body: Buffer;
  bytes: Buffer;
}

/** A connected scripted peer. */
export interface ScriptedPeer {
  /** Writes raw bytes. */
  send(bytes: Buffer): void;
  /** The next whole PDU from the server; rejects if the connection closes first or the wait runs out. */
  readPdu(waitMs?: number): Promise<RawPdu>;
  /** Resolves once the server has closed the connection; rejects when the wait runs out. */
  waitForClose(waitMs?: number): Promise<void>;
  /** Bytes received but not yet read as PDUs. */
  readonly pending: Buffer;
  /** True once the connection is closed. */
  readonly closed: boolean;
  /** Closes the connection from our side. */
  close(): Promise<void>;
}

/**
 * Connects to a server on 127.0.0.1 (by default) and returns the peer; `localAddress` binds
 * our end (e.g. 127.0.0.2, a second loopback address, for allow-list tests).
 */
export function connectScriptedPeer(port: number, host = '127.0.0.1', localAddress?: string): Promise<ScriptedPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let closed = false;
    const waiters = new Set<() => void>();
    const wake = (): void => {
      for (const waiter of [...waiters]) waiter();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      wake();
    });
    // A reset after the server aborted is a valid way to end; the close is what tests observe.
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      wake();
    });

    /** Waits until `ready()` returns a value, the socket closes, or the bound passes. */
    function waitFor<T>(ready: () => T | undefined, what: string, waitMs: number): Promise<T> {
      return new Promise<T>((resolveWait, rejectWait) => {
        const check = (): void => {
          const value = ready();
          if (value !== undefined) {
            done();
            resolveWait(value);
          } else if (closed) {
            done();
            rejectWait(new Error(`connection closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          rejectWait(new Error(`no ${what} within ${waitMs} ms`));
        }, waitMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    }

    const peer: ScriptedPeer = {
      send(bytes) {
        socket.write(bytes);
      },
      readPdu(waitMs = DEFAULT_WAIT_MS) {
        return waitFor(() => {
          if (buffer.length < 6) return undefined;
          const length = buffer.readUInt32BE(2);
          if (buffer.length < 6 + length) return undefined;
          const bytes = buffer.subarray(0, 6 + length);
          buffer = buffer.subarray(6 + length);
          return { type: bytes[0], body: bytes.subarray(6), bytes };
        }, 'PDU', waitMs);
      },
      waitForClose(waitMs = DEFAULT_WAIT_MS) {
        return new Promise<void>((resolveClose, rejectClose) => {
          if (closed) {
            resolveClose();
            return;
          }
          const timer = setTimeout(() => {
            waiters.delete(check);
            rejectClose(new Error(`connection still open after ${waitMs} ms`));
          }, waitMs);
          const check = (): void => {
            if (!closed) return;
            clearTimeout(timer);
            waiters.delete(check);
            resolveClose();
          };
          waiters.add(check);
        });
      },
      get pending() {
        return buffer;
      },
      get closed() {
        return closed;
      },
      close() {
        return new Promise<void>((resolveClose) => {
          if (closed) {
            resolveClose();
            return;
          }
          socket.once('close', () => resolveClose());
          socket.destroy();
        });
      },
    };
    socket.once('connect', () => resolve(peer));
    socket.once('error', reject);
  });
}
