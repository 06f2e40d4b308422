import { cniVersionAtLeast, compareCniVersions, selectCniVersion } from './cni-version';

describe('CNI versions', () => {
  test('compare numerically, not as strings', () => {
    expect(compareCniVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareCniVersions('1.0.0', '1.0.0')).toBe(0);
    expect(cniVersionAtLeast('0.3.1', '0.4.0')).toBe(false);
    expect(cniVersionAtLeast('1.1.0', '1.1.0')).toBe(true);
  });

  test('a plain cniVersion must be supported', () => {
    expect(selectCniVersion('0.4.0', undefined)).toBe('0.4.0');
    expect(() => selectCniVersion('2.0.0', undefined)).toThrow(
      /unsupported CNI version "2.0.0" \(supported: 0.3.0, /,
    );
    expect(() => selectCniVersion(undefined, undefined)).toThrow('missing "cniVersion"');
  });

  test('from cniVersions the highest supported one is chosen (spec 1.1.0)', () => {
    expect(selectCniVersion('1.0.0', ['1.0.0', '1.1.0', '2.0.0'])).toBe('1.1.0');
    expect(selectCniVersion(undefined, ['0.4.0', '9.9.9'])).toBe('0.4.0');
  });
});
