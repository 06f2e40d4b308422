/** Reading the CRI log files the monitor writes, for the tests. */
import * as fs from 'node:fs';

const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) (.*)$/s;

export interface LogEntry {
  stream: string;
  tag: string;
  text: string;
}

/** The entries of a CRI log file (none when it does not exist); throws on a line of another form. */
export function parseLog(file: string): LogEntry[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const m = CRI_LINE.exec(line);
      if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(line)}`);
      return { stream: m[2], tag: m[3], text: m[4] };
    });
}

/** Joins P pieces up to their F, as the kubelet does, per stream. */
export function logLines(entries: LogEntry[], stream: string): string[] {
  const out: string[] = [];
  let partial = '';
  for (const e of entries.filter((x) => x.stream === stream)) {
    partial += e.text;
    if (e.tag === 'F') {
      out.push(partial);
      partial = '';
    }
  }
  if (partial) out.push(partial);
  return out;
}
