import { createLogger, silentLogger } from './logger';

function capture(level: 'error' | 'warn' | 'info' | 'debug', format: 'text' | 'json') {
  const lines: string[] = [];
  const logger = createLogger({ level, format }, (line) => lines.push(line));
  return { logger, lines };
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('createLogger, text', () => {
  test('one line: time, padded level, message, key=value fields', () => {
    const { logger, lines } = capture('debug', 'text');
    logger.warn('rpc failed', { method: 'runtime.v1.RuntimeService/Version', duration_ms: 1.5, ok: false });
    expect(lines).toHaveLength(1);
    const [time, rest] = [lines[0].slice(0, 24), lines[0].slice(25)];
    expect(time).toMatch(TIME);
    expect(rest).toBe('WARN  rpc failed method=runtime.v1.RuntimeService/Version duration_ms=1.5 ok=false\n');
  });

  test('values that would split the line are quoted; objects print as JSON', () => {
    const { logger, lines } = capture('info', 'text');
    logger.info('m', { a: 'two words', b: '', c: 'k=v', d: { x: [1] }, e: 12n, f: new Error('boom') });
    expect(lines[0]).toMatch(/ INFO {2}m a="two words" b="" c="k=v" d={"x":\[1\]} e="12" f="boom"\n$/);
  });

  test('a stack field goes whole onto the following lines', () => {
    const { logger, lines } = capture('info', 'text');
    logger.error('failed', { error: 'x', stack: 'Error: x\n    at f (a.js:1:1)' });
    expect(lines[0]).toMatch(/ ERROR failed error=x\nError: x\n {4}at f \(a\.js:1:1\)\n$/);
  });

  test('events below the level are dropped', () => {
    const { logger, lines } = capture('warn', 'text');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['WARN', 'ERROR']);
  });
});

describe('createLogger, json', () => {
  test('one JSON object per line with timestamp, level, message and the fields', () => {
    const { logger, lines } = capture('info', 'json');
    logger.info('pulling image', { image: 'busybox', bytes: 3 });
    expect(lines[0].endsWith('\n')).toBe(true);
    const event = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(event).toEqual({
      timestamp: expect.stringMatching(TIME),
      level: 'info',
      message: 'pulling image',
      image: 'busybox',
      bytes: 3,
    });
  });

  test('a field that cannot be serialized does not lose the event', () => {
    const { logger, lines } = capture('info', 'json');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    logger.error('odd', { cycle });
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'error',
      message: 'odd',
      log_error: expect.any(String),
    });
  });
});

test('silentLogger drops everything', () => {
  const write = jest.spyOn(process.stderr, 'write');
  try {
    const logger = silentLogger();
    logger.error('nothing');
    logger.info('nothing', { a: 1 });
    expect(write).not.toHaveBeenCalled();
  } finally {
    write.mockRestore();
  }
});
