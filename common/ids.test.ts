import { InvalidArgumentError } from './errors';
import { AmbiguousIdError, newId, resolveIdPrefix } from './ids';

describe('ids', () => {
  test('new IDs are 64 hex digits and differ', () => {
    const a = newId();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(newId()).not.toBe(a);
  });

  test('an ID or a unique prefix resolves; an ambiguous prefix is an InvalidArgument', () => {
    const ids = ['abc123', 'abd456', 'ffff'];
    expect(resolveIdPrefix('abc123', ids)).toBe('abc123');
    expect(resolveIdPrefix('abd', ids)).toBe('abd456');
    expect(resolveIdPrefix('f', ids)).toBe('ffff');
    expect(resolveIdPrefix('zz', ids)).toBeUndefined();
    expect(() => resolveIdPrefix('ab', ids)).toThrow(AmbiguousIdError);
    expect(() => resolveIdPrefix('ab', ids)).toThrow(InvalidArgumentError);
    // An exact match wins over longer IDs it prefixes.
    expect(resolveIdPrefix('ab', ['ab', 'abc'])).toBe('ab');
  });
});
