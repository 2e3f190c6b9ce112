/**
 * Opens the admin GUI in the desktop's default browser (`dicombridge` without arguments,
 * SPEC §6). Best effort: on a server without a desktop nothing opens, and the URL printed
 * on the console is the way in.
 */
import { spawn } from 'node:child_process';

/** The command that opens a URL on this platform. */
export function openCommand(url: string, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } {
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  if (platform === 'darwin') return { command: 'open', args: [url] };
  return { command: 'xdg-open', args: [url] };
}

/** Starts the browser and returns at once; failures are only reported through onError. */
export function openBrowser(url: string, onError: (err: Error) => void): void {
  const { command, args } = openCommand(url);
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true });
    child.on('error', onError);
    child.unref();
  } catch (err) {
    onError(err as Error);
  }
}
