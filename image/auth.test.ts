import { credentialsOf, parseChallenges } from './auth';
import { UnauthenticatedError } from './errors';

describe('parseChallenges', () => {
  it('parses a Docker Hub bearer challenge', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ]);
  });

  it('parses several challenges, unquoted values and escapes', () => {
    expect(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=https://x/t , service=svc')).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', service: 'svc' } },
    ]);
  });

  it('returns nothing for an empty header', () => {
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('credentialsOf', () => {
  it('reads username/password, or the base64 auth field', () => {
    expect(credentialsOf({ username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
    expect(credentialsOf({ auth: Buffer.from('u:p:q').toString('base64') })).toEqual({
      username: 'u',
      password: 'p:q',
    });
    expect(credentialsOf({})).toBeUndefined();
    expect(credentialsOf(undefined)).toBeUndefined();
  });

  it('rejects an auth field without a colon', () => {
    expect(() => credentialsOf({ auth: Buffer.from('nocolon').toString('base64') })).toThrow(
      UnauthenticatedError,
    );
  });
});
