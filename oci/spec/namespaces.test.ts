import type { NamespaceOption__Output } from '../../api/generated/runtime/v1/NamespaceOption';
import { FailedPreconditionError, InvalidArgumentError, UnimplementedError } from '../../common/errors';
import { containerNamespaces } from './namespaces';
import { containerConfig, lookups, sandboxInfo, specInput } from './test-input';

function nsOptions(pid: NamespaceOption__Output['pid'], target_id = ''): NamespaceOption__Output {
  return { network: 'POD', ipc: 'POD', pid, target_id, userns_options: null };
}

const podNs = [
  { type: 'mount' },
  { type: 'network', path: '/run/berth/ns/net/sb1' },
  { type: 'ipc', path: '/run/berth/ns/ipc/sb1' },
  { type: 'uts', path: '/run/berth/ns/uts/sb1' },
];

describe('containerNamespaces', () => {
  test('pid CONTAINER: a new pid namespace, the pod namespaces joined by path, a new mount ns', () => {
    const input = specInput({ config: containerConfig({}, { namespace_options: nsOptions('CONTAINER') }) });
    expect(containerNamespaces(input)).toEqual([...podNs, { type: 'pid' }]);
  });

  test("pid POD: the pod's pinned pid namespace", () => {
    const input = specInput({
      config: containerConfig({}, { namespace_options: nsOptions('POD') }),
      sandbox: sandboxInfo({
        sharedPid: true,
        namespaces: { ...sandboxInfo().namespaces, pid: '/run/berth/ns/pid/sb1' },
      }),
    });
    expect(containerNamespaces(input)).toContainEqual({ type: 'pid', path: '/run/berth/ns/pid/sb1' });
  });

  test("pid POD in a pod that pinned none (crictl's default): the pause process's", () => {
    const input = specInput({ config: containerConfig({}, { namespace_options: null }) });
    expect(containerNamespaces(input)).toContainEqual({ type: 'pid', path: '/proc/4242/ns/pid' });
  });

  test("a user namespace of its own is refused; the host's (NODE) is what every container has", () => {
    const userns = (mode: 'POD' | 'NODE') => ({
      ...nsOptions('CONTAINER'),
      userns_options: { mode, uids: [{ host_id: 100000, container_id: 0, length: 65536 }], gids: [] },
    });
    const asking = specInput({ config: containerConfig({}, { namespace_options: userns('POD') }) });
    expect(() => containerNamespaces(asking)).toThrow(UnimplementedError);
    const host = specInput({ config: containerConfig({}, { namespace_options: userns('NODE') }) });
    expect(containerNamespaces(host)).toEqual([...podNs, { type: 'pid' }]);
  });

  test('pid POD without a pause process is a FailedPrecondition', () => {
    const input = specInput({ sandbox: sandboxInfo({ pausePid: 0 }) });
    expect(() => containerNamespaces(input)).toThrow(FailedPreconditionError);
  });

  test("pid NODE, and POD in a host-pid pod: the host's", () => {
    for (const [pid, host] of [
      ['NODE', false],
      ['POD', true],
    ] as const) {
      const input = specInput({
        config: containerConfig({}, { namespace_options: nsOptions(pid) }),
        sandbox: sandboxInfo({ host: { network: false, ipc: false, pid: host } }),
      });
      expect(containerNamespaces(input).some((n) => n.type === 'pid')).toBe(false);
    }
  });

  test("pid TARGET: the target container's, through the resolver", () => {
    const seen: string[] = [];
    const input = specInput({
      config: containerConfig({}, { namespace_options: nsOptions('TARGET', 'c0') }),
      lookups: lookups({
        targetPidNamespace: (id) => {
          seen.push(id);
          return '/proc/99/ns/pid';
        },
      }),
    });
    expect(containerNamespaces(input)).toContainEqual({ type: 'pid', path: '/proc/99/ns/pid' });
    expect(seen).toEqual(['c0']);
  });

  test('pid TARGET without a target is an InvalidArgument', () => {
    const input = specInput({ config: containerConfig({}, { namespace_options: nsOptions('TARGET') }) });
    expect(() => containerNamespaces(input)).toThrow(InvalidArgumentError);
  });

  test("a pod that pinned nothing (host network and IPC): the container stays in the host's", () => {
    const input = specInput({
      config: containerConfig({}, { namespace_options: nsOptions('CONTAINER') }),
      sandbox: sandboxInfo({ host: { network: true, ipc: true, pid: false }, namespaces: {} }),
    });
    expect(containerNamespaces(input)).toEqual([{ type: 'mount' }, { type: 'pid' }]);
  });
});
