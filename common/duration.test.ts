import { parseDuration } from './duration';

describe('parseDuration', () => {
  test.each([
    ['4h', 4 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['4h0m0s', 4 * 3_600_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['.5m', 30_000],
    ['1000us', 1],
    ['0', 0],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '4', 'h', '4 h', '-1s', '4hours', '1s ', 'ms'])('"%s" is no duration', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});
