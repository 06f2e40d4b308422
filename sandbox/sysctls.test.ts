import { InvalidArgumentError } from '../common/errors';
import { validatePodSysctls } from './sysctls';

const own = { net: true, ipc: true, uts: true };

describe('validatePodSysctls', () => {
  test('namespaced sysctls pass, slash-separated keys become dotted', () => {
    expect(
      validatePodSysctls(
        {
          'net.ipv4.ip_unprivileged_port_start': '0',
          'net/core/somaxconn': '1024',
          'kernel.shmmax': '1000000',
          'kernel.sem': '250 32000 32 128',
          'fs.mqueue.msg_max': '20',
          'kernel.domainname': 'example',
        },
        own,
      ),
    ).toEqual({
      'net.ipv4.ip_unprivileged_port_start': '0',
      'net.core.somaxconn': '1024',
      'kernel.shmmax': '1000000',
      'kernel.sem': '250 32000 32 128',
      'fs.mqueue.msg_max': '20',
      'kernel.domainname': 'example',
    });
  });

  test.each([
    ['kernel.pid_max', /not namespaced/],
    ['vm.swappiness', /not namespaced/],
    ['fs.file-max', /not namespaced/],
    ['kernel.hostname', /not namespaced/],
    ['net..bad', /not a valid sysctl name/],
    ['../../etc/passwd', /not a valid sysctl name/],
    ['net', /not a valid sysctl name/],
  ])('%s is refused', (key, message) => {
    expect(() => validatePodSysctls({ [key]: '1' }, own)).toThrow(InvalidArgumentError);
    expect(() => validatePodSysctls({ [key]: '1' }, own)).toThrow(message);
  });

  test('a sysctl of a namespace shared with the host is refused', () => {
    expect(() => validatePodSysctls({ 'net.core.somaxconn': '1' }, { ...own, net: false })).toThrow(
      /shares the host's net namespace/,
    );
    expect(() => validatePodSysctls({ 'kernel.msgmax': '1' }, { ...own, ipc: false })).toThrow(
      /shares the host's ipc namespace/,
    );
  });

  test('a value with a newline is refused', () => {
    expect(() => validatePodSysctls({ 'net.core.somaxconn': '1\n2' }, own)).toThrow(/invalid value/);
  });
});
