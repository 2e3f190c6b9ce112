/**
 * The console in the foreground on a terminal (SPEC §6): one readable line per event an
 * administrator watches for (a study received, a ZIP sent, a failure, an echo, start and stop)
 * instead of pino's JSON lines, e.g.
 *
 *     20:37:38 received CT study DOE, Jane (12 instances) from PACS1 → Inbox_Manual/DOE, Jane_….zip
 *
 * Other info lines (associations, single instances) are left to the log file, which keeps the
 * JSON lines unchanged, as the console does in service mode and when piped.
 *
 * Why not pino-pretty or a pino transport: a transport runs in a worker thread loaded from a
 * file, which the single executable (one esbuild bundle) cannot start; and pino-pretty prints
 * every field of every line, not an event in words. This is a plain main-thread destination in
 * the logger's `pino.multistream`, so it sees the lines in order and needs no flushing at exit.
 */

/** One pino line, parsed. */
export type LogRecord = Record<string, unknown>;

/** Options of {@link formatConsoleLine}. */
export interface ConsoleFormatOptions {
  /** ANSI colours (only where the terminal supports them; the words carry the meaning anyway). */
  colour: boolean;
  /** `HH:MM:SS` of the record's time; local time by default. */
  clock?: (time: Date) => string;
}

const LEVEL_WARN = 40;
const LEVEL_ERROR = 50;

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local wall-clock time, `20:37:38`. */
export function localClock(time: Date): string {
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

const ANSI = { dim: '2', bold: '1', red: '31', green: '32', yellow: '33', cyan: '36' } as const;
type Style = keyof typeof ANSI;

function styler(colour: boolean): (style: Style, text: string) => string {
  return colour ? (style, text) => `\u001b[${ANSI[style]}m${text}\u001b[0m` : (_style, text) => text;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** The last component of a path written on Linux or Windows. */
function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `from PACS1` (or `from PACS1, CT2`); '' when the calling AE title is unknown. */
function fromAets(value: unknown): string {
  const list = (Array.isArray(value) ? value : [value]).map(text).filter((s) => s !== '');
  return list.length > 0 ? ` from ${list.join(', ')}` : '';
}

/** `to PACS at 10.0.0.5:104`. */
function toPeer(record: LogRecord): string {
  const aet = text(record.calledAet);
  const peer = text(record.peer);
  if (aet && peer) return ` to ${aet} at ${peer}`;
  return aet || peer ? ` to ${aet || peer}` : '';
}

/** The study in words: `CT study DOE, Jane (12 instances)`. */
function studyWords(record: LogRecord): string {
  const modality = text(record.modality);
  const name = text(record.patientName) || '(no patient name)';
  const instances = count(record.instances);
  return `${modality ? `${modality} ` : ''}study ${name}${instances === undefined ? '' : ` (${plural(instances, 'instance')})`}`;
}

/** The error's message of a line (pino serialises `err` as an object with `message`). */
function errorText(record: LogRecord): string {
  const err = record.err;
  if (typeof err === 'string') return err;
  if (err !== null && typeof err === 'object') return text((err as Record<string, unknown>).message);
  return '';
}

/**
 * The readable line of one log record, without the newline, or null when the console leaves
 * it to the log file (info lines that are not an event of their own).
 */
export function formatConsoleLine(record: LogRecord, options: ConsoleFormatOptions): string | null {
  const paint = styler(options.colour);
  const time = new Date(text(record.time) || Number(record.time));
  const clock = Number.isNaN(time.getTime()) ? '--:--:--' : (options.clock ?? localClock)(time);
  const line = (body: string): string => `${paint('dim', clock)} ${body}`;
  const failed = (body: string): string => line(`${paint('red', paint('bold', 'FAILED'))} ${body}`);
  const msg = text(record.msg);
  const level = count(record.level) ?? 30;

  switch (msg) {
    case 'study zipped': {
      const where = `${text(record.inbox) || 'inbox'}/${baseName(text(record.zip))}`;
      return line(`${paint('green', 'received')} ${studyWords(record)}${fromAets(record.callingAet)} → ${where}`);
    }
    case 'study failed': {
      const where = `${text(record.inbox) || 'Inbox_Failed'}/${baseName(text(record.movedTo))}`;
      return failed(`receiving ${studyWords(record)}${fromAets(record.callingAet)} → ${where}: ${text(record.reason) || errorText(record)}`);
    }
    case 'ZIP sent':
      return line(`${paint('green', 'sent')} ${text(record.zip)}${toPeer(record)} (${plural(count(record.instances) ?? 0, 'instance')})`);
    case 'ZIP not sent': {
      const instances = count(record.instances) ?? 0;
      const stored = count(record.sent) ?? 0;
      const movedTo = text(record.movedTo);
      return failed(
        `sending ${text(record.zip)}${toPeer(record)} (${stored} of ${plural(instances, 'instance')} stored): ${text(record.reason)}${movedTo ? ` → Outbox_Failed/${baseName(movedTo)}` : ''}`,
      );
    }
    case 'echo: C-ECHO succeeded':
      return line(`${paint('cyan', 'echo')}${toPeer(record)} succeeded in ${Math.round(count(record.rttMs) ?? 0)} ms`);
    case 'DicomBridge running': {
      const port = count(record.receivePort);
      const parts = [port === undefined ? '' : `DICOM on port ${port}`, text(record.gui) ? `admin GUI ${text(record.gui)}` : ''].filter((s) => s !== '');
      return line(`${paint('bold', `DicomBridge ${text(record.version)} started`)}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`);
    }
    default:
      break;
  }
  if (msg.startsWith('C-ECHO answered')) {
    const peer = text(record.peer);
    return line(`${paint('cyan', 'echo')}${fromAets(record.callingAet)}${peer ? ` (${peer})` : ''} answered: ${msg.slice('C-ECHO answered: '.length) || text(record.status)}`);
  }
  if (msg.startsWith('echo: ') && level >= LEVEL_WARN) return failed(`echo${toPeer(record)}: ${msg.slice('echo: '.length)}`);
  if (msg.startsWith('stopping')) return line(`${paint('bold', 'stopping')}${record.signal ? ` (${text(record.signal)})` : ''}: ${msg.replace(/^stopping:?\s*/, '')}`);
  if (msg.startsWith('stopped')) return line(paint('bold', msg));
  if (msg.startsWith('no browser opened')) return line(`${msg}${errorText(record) ? ` (${errorText(record)})` : ''}`);

  // Anything else that went wrong is shown with what the line says; plain info stays in the file.
  const detail = text(record.reason) || errorText(record);
  const about = text(record.zip) || text(record.study) || text(record.item);
  const body = `${msg}${about ? ` [${baseName(about)}]` : ''}${detail && !msg.includes(detail) ? `: ${detail}` : ''}`;
  if (level >= LEVEL_ERROR) return line(`${paint('red', paint('bold', 'ERROR'))} ${body}`);
  if (level >= LEVEL_WARN) return line(`${paint('yellow', 'warning')} ${body}`);
  return null;
}

/** Options of {@link createConsolePretty}. */
export interface ConsolePrettyOptions {
  colour: boolean;
}

/**
 * A pino destination (a `pino.multistream` entry) that writes {@link formatConsoleLine} for
 * each JSON line to `out`. A line that does not parse is written as it is: nothing is lost.
 */
export function createConsolePretty(out: { write(chunk: string): unknown }, options: ConsolePrettyOptions): { write(line: string): void } {
  return {
    write(line: string) {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        out.write(line.endsWith('\n') ? line : `${line}\n`);
        return;
      }
      const pretty = formatConsoleLine(record, { colour: options.colour });
      if (pretty !== null) out.write(`${pretty}\n`);
    },
  };
}

/**
 * Whether the console gets readable lines: the foreground mode (not `-s`) on a terminal. A
 * service, a pipe or a redirected file keep the JSON lines.
 */
export function wantsPrettyConsole(service: boolean, stdout: { isTTY?: boolean }): boolean {
  return !service && stdout.isTTY === true;
}

/**
 * Whether to colour: the terminal must support colours and NO_COLOR (https://no-color.org)
 * must not be set. `hasColors` also honours FORCE_COLOR, NODE_DISABLE_COLORS and TERM=dumb.
 */
export function wantsColour(stdout: { isTTY?: boolean; hasColors?: () => boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stdout.isTTY === true && typeof stdout.hasColors === 'function' && stdout.hasColors();
}
