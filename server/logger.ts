import type { LogFormat, LogLevel } from './config';

/** Fields logged with a message: `key=value` pairs in text, keys of the object in JSON. */
export type LogFields = Record<string, unknown>;

/** Where berth logs: one event per call, a fixed message and the fields that vary. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

/** Lower is more severe; a logger writes the events at or below its level. */
const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * The daemon's logger: one line per event on stderr (journald or the installer's log file keeps
 * it), JSON for machines or `TIME LEVEL message key=value...` for people. Written here rather
 * than with a logging library: this is all the daemon needs, and winston cost it 3 MiB of heap.
 */
export function createLogger(
  options: { level: LogLevel; format: LogFormat },
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const format = options.format === 'json' ? jsonLine : textLine;
  const at = (level: LogLevel) =>
    SEVERITY[level] <= SEVERITY[options.level]
      ? (message: string, fields: LogFields = {}) =>
          write(`${format(new Date().toISOString(), level, message, fields)}\n`)
      : () => undefined;
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** A logger that drops everything, for library code used without a daemon. */
export function silentLogger(): Logger {
  const drop = () => undefined;
  return { error: drop, warn: drop, info: drop, debug: drop };
}

function textLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  const { stack, ...rest } = fields;
  const pairs = Object.entries(rest).map(([key, value]) => `${key}=${formatValue(value)}`);
  const line = [time, level.toUpperCase().padEnd(5), message, ...pairs].join(' ');
  // A stack trace is kept whole, on the lines after the event.
  return typeof stack === 'string' ? `${line}\n${stack}` : line;
}

function jsonLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  const event = { timestamp: time, level, message, ...fields };
  try {
    return JSON.stringify(event, jsonValue);
  } catch (err) {
    // A field that cannot be serialized (a cycle) must not cost the event itself.
    return JSON.stringify({ timestamp: time, level, message, log_error: (err as Error).message });
  }
}

function formatValue(value: unknown): string {
  // Strings are quoted when they would otherwise split the line; other values print as JSON.
  if (typeof value !== 'string') return safeJson(value);
  return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, jsonValue) ?? String(value);
  } catch {
    return String(value);
  }
}

/** JSON.stringify replacer: bigints as decimal strings, errors as their message (not `{}`). */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}
