import { InvalidArgumentError } from '../../common/errors';
import { emptySpec } from './container-spec';
import {
  DEFAULT_PATH_ENV,
  mergeCommand,
  mergeEnv,
  withEnv,
  withTerminal,
  withWorkingDir,
  workingDir,
} from './process';
import { containerConfig, sandboxInfo, specInput } from './test-input';

describe('mergeCommand', () => {
  const image = { Entrypoint: ['/ep-1'], Cmd: ['foo', 'bar'] };

  // The first four rows are the table of the Kubernetes docs (tasks/inject-data-application/
  // define-command-argument-container, "Notes").
  test.each([
    ['image only', [], [], image, ['/ep-1', 'foo', 'bar']],
    ['command drops the image Cmd', ['/ep-2'], [], image, ['/ep-2']],
    ['args replace the Cmd only', [], ['zoo', 'boo'], image, ['/ep-1', 'zoo', 'boo']],
    ['command and args replace both', ['/ep-2'], ['zoo', 'boo'], image, ['/ep-2', 'zoo', 'boo']],
    ['no Entrypoint: Cmd alone', [], [], { Cmd: ['sh', '-c', 'true'] }, ['sh', '-c', 'true']],
    ['no Entrypoint: args alone', [], ['echo', 'hi'], { Cmd: ['sh'] }, ['echo', 'hi']],
    ['Entrypoint [""] counts as none', [], [], { Entrypoint: [''], Cmd: ['top'] }, ['top']],
    [
      'null Entrypoint and Cmd with a command',
      ['/bin/true'],
      [],
      { Entrypoint: null, Cmd: null },
      ['/bin/true'],
    ],
    ['Entrypoint without Cmd', [], [], { Entrypoint: ['/init'] }, ['/init']],
    ['args after an Entrypoint without Cmd', [], ['-v'], { Entrypoint: ['/init'] }, ['/init', '-v']],
  ])('%s', (_name, command, args, img, expected) => {
    expect(mergeCommand(command, args, img)).toEqual(expected);
  });

  test('nothing to run is an InvalidArgument', () => {
    expect(() => mergeCommand([], [], {})).toThrow(InvalidArgumentError);
    expect(() => mergeCommand([], [], { Entrypoint: [''], Cmd: [] })).toThrow(/no command specified/);
  });
});

describe('mergeEnv', () => {
  const kv = (key: string, value: string) => ({ key, value: Buffer.from(value) });

  test('a default PATH and the pod hostname when the image sets none', () => {
    expect(mergeEnv({}, [], 'web')).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=web']);
  });

  test("the image's PATH replaces the default in place; CRI values override the image's in place", () => {
    const env = mergeEnv(
      { Env: ['PATH=/opt/bin', 'LANG=C', 'EMPTY='] },
      [kv('LANG', 'C.UTF-8'), kv('NEW', 'a=b'), kv('PATH', '/x')],
      undefined,
    );
    expect(env).toEqual(['PATH=/x', 'LANG=C.UTF-8', 'EMPTY=', 'NEW=a=b']);
  });

  test('CRI env values arrive as bytes and keep their utf-8', () => {
    expect(mergeEnv({}, [kv('GREETING', 'grüße')], undefined)).toContain('GREETING=grüße');
  });

  test('an image HOSTNAME wins over the pod one; a CRI one over both', () => {
    expect(mergeEnv({ Env: ['HOSTNAME=img'] }, [], 'web')).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=img']);
    expect(mergeEnv({ Env: ['HOSTNAME=img'] }, [kv('HOSTNAME', 'cri')], 'web')[1]).toBe('HOSTNAME=cri');
  });

  test('a CRI key with "=" or empty is refused', () => {
    expect(() => mergeEnv({}, [kv('A=B', 'x')], undefined)).toThrow(InvalidArgumentError);
    expect(() => mergeEnv({}, [kv('', 'x')], undefined)).toThrow(InvalidArgumentError);
  });

  test('withEnv takes the hostname from the sandbox', () => {
    const spec = emptySpec();
    withEnv(spec, specInput({ sandbox: sandboxInfo({ hostname: 'node-1' }) }));
    expect(spec.process.env).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=node-1']);
  });
});

describe('workingDir', () => {
  test('CRI, then image, then /', () => {
    expect(workingDir('/work', { WorkingDir: '/app' })).toBe('/work');
    expect(workingDir('', { WorkingDir: '/app' })).toBe('/app');
    expect(workingDir('', {})).toBe('/');
  });

  test('a relative directory is refused', () => {
    expect(() => workingDir('work', {})).toThrow(InvalidArgumentError);
  });

  test('withWorkingDir and withTerminal', () => {
    const spec = emptySpec();
    const input = specInput({ config: containerConfig({ working_dir: '/srv', tty: true }) });
    withWorkingDir(spec, input);
    withTerminal(spec, input);
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.process.terminal).toBe(true);
  });
});
