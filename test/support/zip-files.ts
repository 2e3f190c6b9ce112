/**
 * Writes ZIPs the way the CRYPE app drops them into Outbox_Auto (yazl), for send tests.
 */
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';

/** Zips files (entry name = base name unless given) plus optional extra text entries. */
export async function writeZip(path: string, files: string[], extra: Record<string, string> = {}): Promise<void> {
  const zip = new yazl.ZipFile();
  files.forEach((file, i) => zip.addFile(file, `${String(i).padStart(4, '0')}_${basename(file)}`));
  for (const [name, text] of Object.entries(extra)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  await finished(out);
}
