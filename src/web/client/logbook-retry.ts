/**
 * Retry of a failed item from the Log Book (issue 11 point 3): which rows offer it, and the
 * POST /api/retry call (with the page token, like every write).
 */
import { sendJson } from './api.js';

/** `outbox` = a ZIP in Outbox_Failed, `inbox` = a study folder in Inbox_Failed. */
export type RetryKind = 'outbox' | 'inbox';

/** The retry a row offers: a failed Send whose ZIP went to Outbox_Failed, a failed Receive in Inbox_Failed. */
export function retryOf(entry: { action?: unknown; status?: unknown; folder?: unknown; fileName?: unknown }): { kind: RetryKind; name: string } | null {
  const name = String(entry.fileName ?? '');
  if (entry.status !== 'Failed' || name === '') return null;
  if (entry.action === 'Send' && entry.folder === 'Outbox_Failed') return { kind: 'outbox', name };
  if (entry.action === 'Receive' && entry.folder === 'Inbox_Failed') return { kind: 'inbox', name };
  return null;
}

/** Asks the bridge to retry; resolves with the text to show (done or why not). */
export async function requestRetry(kind: RetryKind, name: string): Promise<{ ok: boolean; text: string }> {
  try {
    const result = await sendJson<{ name?: string; error?: string }>('POST', '/api/retry', { kind, name });
    if (result.ok) {
      return {
        ok: true,
        text: kind === 'outbox'
          ? `Moved back to Outbox_Auto${result.body.name && result.body.name !== name ? ` as ${result.body.name}` : ''}; it is sent at the next scan.`
          : 'Moved out of Inbox_Failed; the study is being zipped again.',
      };
    }
    return { ok: false, text: `Retry refused: ${result.body.error ?? `HTTP ${result.status}`}` };
  } catch {
    return { ok: false, text: 'Retry failed: connection to the bridge lost' };
  }
}
