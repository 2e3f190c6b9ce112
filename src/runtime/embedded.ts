/**
 * Whether this process is the single executable (`dicombridge-<version>-<platform>`, a Node.js
 * SEA built by scripts/package.mjs) and the files embedded in it. The executable carries the
 * GUI's files (`public/index.html`, `public/app.css`, `public/client/<module>.js`) and, on
 * Windows, the service wrapper (`winsw.exe`, `winsw.exe.config`): it reads nothing of its own
 * from disk. Run from the sources (plain `node`), there is nothing embedded and callers read
 * their files from the source tree as before.
 */
import * as sea from 'node:sea';

/** True when running as the single executable. */
export function isSingleExecutable(): boolean {
  return sea.isSea();
}

/** The embedded file `name` (e.g. `public/index.html`, `winsw.exe`); undefined when not a single executable or no such file. */
export function embeddedAsset(name: string): Buffer | undefined {
  if (!sea.isSea()) return undefined;
  try {
    return Buffer.from(sea.getAsset(name));
  } catch {
    // ERR_SINGLE_EXECUTABLE_APPLICATION_ASSET_NOT_FOUND: not packaged into this executable.
    return undefined;
  }
}
