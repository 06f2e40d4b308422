import { isLoopbackHost, MirrorResolver, registriesFromConfig } from './mirrors';
import { parseReference } from './reference';

describe('MirrorResolver', () => {
  const resolver = new MirrorResolver([
    {
      prefix: 'docker.io',
      mirrors: [{ location: '127.0.0.1:5001' }, { location: 'mirror.example/hub', insecure: true }],
    },
    { prefix: 'quay.io/team', mirrors: [{ location: 'cache.example/quay-team' }] },
    { prefix: 'plain.example:8080', insecure: true },
  ]);

  it('tries mirrors in order, then the registry', () => {
    expect(resolver.endpoints(parseReference('busybox'))).toEqual([
      { host: '127.0.0.1:5001', repository: 'library/busybox', insecure: true, mirror: true },
      { host: 'mirror.example', repository: 'hub/library/busybox', insecure: true, mirror: true },
      { host: 'registry-1.docker.io', repository: 'library/busybox', insecure: false, mirror: false },
    ]);
  });

  it('matches a namespace prefix and replaces it on the mirror', () => {
    expect(resolver.endpoints(parseReference('quay.io/team/sub/app:v1'))[0]).toEqual({
      host: 'cache.example',
      repository: 'quay-team/sub/app',
      insecure: false,
      mirror: true,
    });
    expect(resolver.endpoints(parseReference('quay.io/teammate/app'))).toHaveLength(1);
  });

  it('uses plain http only for insecure or loopback registries', () => {
    expect(resolver.endpoints(parseReference('plain.example:8080/app'))[0].insecure).toBe(true);
    expect(resolver.endpoints(parseReference('secure.example/app'))[0].insecure).toBe(false);
    expect(resolver.endpoints(parseReference('localhost:5000/app'))[0].insecure).toBe(true);
  });

  it('rejects malformed locations', () => {
    expect(() => new MirrorResolver([{ prefix: 'docker.io', mirrors: [{ location: 'x/' }] }])).toThrow(
      'must be host[/namespace]',
    );
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['127.0.0.1.example.com', false],
    ['example.com', false],
  ])('%s -> %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('registriesFromConfig', () => {
  it('maps the daemon config to registry entries', () => {
    const registries = registriesFromConfig({
      insecure: ['plain.example:5000', 'mirror.example'],
      mirrors: { 'docker.io': ['http://127.0.0.1:5000/', 'https://secure.example/hub', 'mirror.example'] },
    });
    expect(registries).toEqual([
      { prefix: 'plain.example:5000', insecure: true },
      { prefix: 'mirror.example', insecure: true },
      {
        prefix: 'docker.io',
        insecure: false,
        mirrors: [
          { location: '127.0.0.1:5000', insecure: true },
          { location: 'secure.example/hub', insecure: false },
          { location: 'mirror.example', insecure: true },
        ],
      },
    ]);
    expect(new MirrorResolver(registries).endpoints(parseReference('busybox'))[1]).toEqual({
      host: 'secure.example',
      repository: 'hub/library/busybox',
      insecure: false,
      mirror: true,
    });
  });
});
