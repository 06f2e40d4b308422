import { InvalidArgumentError } from '../common/errors';
import { apiHost, formatReference, manifestReference, parseReference } from './reference';

const D = 'sha256:' + 'ab'.repeat(32);

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['someone/app', 'docker.io/someone/app:latest'],
    ['quay.io/team/sub/app:v2', 'quay.io/team/sub/app:v2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b/c:1.0-rc.1', '127.0.0.1:5000/a/b/c:1.0-rc.1'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`reg.example:443/x/y:t@${D}`, `reg.example:443/x/y:t@${D}`],
    ['my-reg.v2/repo', 'my-reg.v2/repo:latest'],
    ['a__b/c--d', 'docker.io/a__b/c--d:latest'],
  ])('normalizes %s', (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it('treats an uppercase first component as a registry host', () => {
    expect(parseReference('Registry/app')).toEqual({ domain: 'Registry', path: 'app', tag: 'latest' });
  });

  it('keeps a port apart from a tag', () => {
    const ref = parseReference('host:5000/app');
    expect(ref).toEqual({ domain: 'host:5000', path: 'app', tag: 'latest' });
    expect(manifestReference(ref)).toBe('latest');
  });

  it('asks for the digest when a reference has both tag and digest', () => {
    expect(manifestReference(parseReference(`app:v1@${D}`))).toBe(D);
  });

  it.each([
    ['', 'empty'],
    ['Busybox', 'must be lowercase'],
    ['docker.io/Library/busybox', 'must be lowercase'],
    ['app:', 'malformed tag'],
    ['app:-bad', 'malformed tag'],
    ['app@sha256:1234', 'malformed digest'],
    [`app@sha512:${'a'.repeat(128)}`, 'unsupported digest algorithm'],
    ['a'.repeat(64), 'image ID'],
    ['host:5000/', 'empty repository path'],
    ['host/a//b', 'malformed repository path component'],
    ['-host.com/app', 'malformed registry host'],
    ['my_reg.io/app', 'malformed registry host'],
    [' busybox', 'whitespace'],
    ['x.io/' + 'a'.repeat(260), 'longer than'],
  ])('rejects %j (%s)', (input, why) => {
    expect(() => parseReference(input)).toThrow(InvalidArgumentError);
    expect(() => parseReference(input)).toThrow(why);
  });
});

describe('apiHost', () => {
  it('maps docker.io to its API host and leaves others alone', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('localhost:5000')).toBe('localhost:5000');
  });
});
