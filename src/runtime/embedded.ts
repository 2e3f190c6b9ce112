/**
 * What the single executable carries (Node SEA, node:sea): whether this process is one, and
 * its embedded assets. Outside a single executable (development, `npm start`) there are none.
 */
import sea from 'node:sea';

/** True when this process runs as the single executable (dicombridge / dicombridge.exe). */
export function isSingleExecutable(): boolean {
  return sea.isSea();
}

/** An asset embedded in the single executable, as a Buffer; undefined outside one or when absent. */
export function embeddedAsset(name: string): Buffer | undefined {
  if (!sea.isSea()) return undefined;
  try {
    return Buffer.from(sea.getAsset(name));
  } catch {
    return undefined;
  }
}
