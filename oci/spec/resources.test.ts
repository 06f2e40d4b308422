import { InvalidArgumentError } from '../../common/errors';
import { emptySpec } from './container-spec';
import { linuxResources, withCgroupsPath, withResources } from './resources';
import { containerConfig, resources, sandboxInfo, specInput } from './test-input';

describe('linuxResources', () => {
  test('a Burstable container as the kubelet sends it', () => {
    const r = resources({
      cpu_period: '100000',
      cpu_quota: '50000',
      cpu_shares: '512',
      memory_limit_in_bytes: '268435456',
      memory_swap_limit_in_bytes: '268435456',
      cpuset_cpus: '0-1',
      cpuset_mems: '0',
      hugepage_limits: [{ page_size: '2MB', limit: '4194304' }],
      unified: { 'memory.oom.group': '1' },
    });
    expect(linuxResources(r, undefined)).toEqual({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
      memory: { limit: 268435456, swap: 268435456 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      unified: { 'memory.oom.group': '1' },
    });
  });

  test('zeros are unset; device rules are kept', () => {
    const devices = [{ allow: false, access: 'rwm' }];
    expect(linuxResources(resources(), devices)).toEqual({ devices });
    expect(linuxResources(null, undefined)).toEqual({});
  });

  test('quota -1 and swap -1 mean unlimited', () => {
    expect(
      linuxResources(resources({ cpu_quota: '-1', memory_swap_limit_in_bytes: '-1' }), undefined),
    ).toEqual({
      cpu: { quota: -1 },
      memory: { swap: -1 },
    });
  });

  test.each([
    ['negative shares', { cpu_shares: '-2' }],
    ['quota below -1', { cpu_quota: '-5' }],
    ['a non-integer', { memory_limit_in_bytes: '1.5' }],
    ['an unsafe integer', { memory_limit_in_bytes: '9223372036854775807' }],
    ['swap below the memory limit', { memory_limit_in_bytes: '2000', memory_swap_limit_in_bytes: '1000' }],
    ['a malformed hugepage size', { hugepage_limits: [{ page_size: '2M', limit: '1' }] }],
  ])('%s is an InvalidArgument', (_name, overrides) => {
    expect(() => linuxResources(resources(overrides), undefined)).toThrow(InvalidArgumentError);
  });
});

describe('withResources', () => {
  test('oom_score_adj from the kubelet, raised no lower than the daemon own', () => {
    const spec = emptySpec();
    const input = specInput({
      config: containerConfig({
        linux: { resources: resources({ oom_score_adj: '-997' }), security_context: null },
      }),
    });
    input.features = { ...input.features, ownOomScoreAdj: -500 };
    withResources(spec, input);
    expect(spec.process.oomScoreAdj).toBe(-500);
    input.config = containerConfig({
      linux: { resources: resources({ oom_score_adj: '1000' }), security_context: null },
    });
    withResources(spec, input);
    expect(spec.process.oomScoreAdj).toBe(1000);
  });

  test('an oom_score_adj out of range is an InvalidArgument', () => {
    const input = specInput({
      config: containerConfig({
        linux: { resources: resources({ oom_score_adj: '1001' }), security_context: null },
      }),
    });
    expect(() => withResources(emptySpec(), input)).toThrow(InvalidArgumentError);
  });

  test('the device rules set before survive', () => {
    const spec = emptySpec();
    spec.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    withResources(
      spec,
      specInput({
        config: containerConfig({
          linux: { resources: resources({ cpu_shares: '2' }), security_context: null },
        }),
      }),
    );
    expect(spec.linux.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }], cpu: { shares: 2 } });
  });
});

describe('withCgroupsPath', () => {
  test("beside the pause process, under the pod's cgroup parent", () => {
    const spec = emptySpec();
    withCgroupsPath(
      spec,
      specInput({ id: 'c9', sandbox: sandboxInfo({ cgroupsPath: '/kubepods/burstable/podu/sb1' }) }),
    );
    expect(spec.linux.cgroupsPath).toBe('/kubepods/burstable/podu/c9');
  });
});
