import pino, { type Logger } from 'pino';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

/** One JSON log line as a person reads it: `12:04:05.123 INFO  message key=value ...`, in colour. */
export function prettyLine(json: string, colour = true): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const paint = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const [name, code] = LEVELS[entry.level as number] ?? ['?    ', '0'];
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 23);
  const fields = Object.entries(entry)
    .filter(([k, v]) => !OMIT.has(k) && v !== undefined)
    .map(([k, v]) => `${paint('2', `${k}=`)}${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  const stack = err ? `\n${paint('31', err.stack ?? `${err.type}: ${err.message}`)}` : '';
  return `${paint('2', time)} ${paint(code, name)} ${entry.msg ?? ''}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

/**
 * The process's logger: JSON lines (for collectors) unless `format` is pretty, which is
 * the default when stdout is a terminal (a person is reading).
 */
export function createLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && Boolean(process.stdout.isTTY));
  if (!pretty) return pino({ level: opts.level });
  const colour = Boolean(process.stdout.isTTY);
  return pino({ level: opts.level }, { write: (line: string) => void process.stdout.write(prettyLine(line, colour)) });
}
