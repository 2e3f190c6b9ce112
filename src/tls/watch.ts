/**
 * Notices a renewed certificate: polls the TLS files' size and mtime (fs.watchFile, which also
 * works on network drives where change events do not arrive) and calls back once per change,
 * so a listener can swap its secure context without a restart (SPEC §5 TLS keys).
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** Calls `onChange` when any of `files` changes; returns the function that stops watching. */
export function watchTlsFiles(files: readonly string[], onChange: () => void, intervalMs = 5000): () => void {
  const watched = [...new Set(files.filter((f) => f !== ''))];
  const listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size) onChange();
  };
  for (const file of watched) watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => {
    for (const file of watched) unwatchFile(file, listener);
  };
}
