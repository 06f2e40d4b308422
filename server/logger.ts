import * as winston from 'winston';
import type { LogFormat, LogLevel } from './config';

export type Logger = winston.Logger;

/**
 * The daemon's logger: one line per event on stderr (journald or the installer's log file keeps
 * it), JSON for machines or `TIME LEVEL message key=value...` for people.
 */
export function createLogger(options: { level: LogLevel; format: LogFormat }): Logger {
  const format =
    options.format === 'json'
      ? winston.format.combine(
          winston.format.timestamp(),
          winston.format.errors({ stack: true }),
          winston.format.json(),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), textLine);
  return winston.createLogger({
    level: options.level,
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger that drops everything, for library code used without a daemon. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true });
}

const textLine = winston.format.printf((info) => {
  const { timestamp, level, message, stack, ...fields } = info;
  const pairs = Object.entries(fields)
    .filter(([key]) => typeof key === 'string')
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const line = [timestamp, level.toUpperCase().padEnd(5), message, ...pairs].join(' ');
  return stack && typeof stack === 'string' ? `${line}\n${stack}` : line;
});

function formatValue(value: unknown): string {
  // Strings are quoted when they would otherwise split the line; other values print as JSON.
  if (typeof value !== 'string') return JSON.stringify(value) ?? String(value);
  return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
}
