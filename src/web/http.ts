/**
 * Small HTTP helpers for the admin GUI's server. The GUI has a handful of JSON routes, so
 * Node's own `http` module is enough (STYLE.md §9 allows it "if it stays tiny"); these helpers
 * keep every route's reading and answering the same: bounded bodies, JSON only, no caching.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './security.js';

/** Largest request body accepted (settings are a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A request that cannot be served as asked, with the HTTP status to answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Writes the security headers every response carries. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Reads a JSON request body of at most MAX_BODY_BYTES; HttpError 413/400 otherwise. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** The object at `body[key]`, or HttpError 400. */
export function objectField(body: unknown, key: string): Record<string, unknown> {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, `body must be { "${key}": { … } }`);
  return value as Record<string, unknown>;
}
