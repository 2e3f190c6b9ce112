/**
 * A raw HTTPS client for the admin GUI over TLS (gui.tls): like gui-harness's rawRequest, any
 * Host header, trusting the test CA; also says which certificate the server showed.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { RawResponse } from './gui-harness.js';

/** An HTTPS answer plus the server certificate's subject CN. */
export interface RawTlsResponse extends RawResponse {
  peerCommonName: string;
}

/** Sends one HTTPS request to `host`:port, trusting `caFile` (a fresh connection each time). */
export function rawTlsRequest(port: number, caFile: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown, host = '127.0.0.1'): Promise<RawTlsResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, method, path, ca: readFileSync(caFile), agent: false, headers: { host: `${host}:${port}`, ...headers }, setHost: false },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) as unknown, peerCommonName: String(peer.subject?.CN ?? '') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
