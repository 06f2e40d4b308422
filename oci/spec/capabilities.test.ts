import { InvalidArgumentError } from '../../common/errors';
import {
  allCapabilities,
  capabilitiesOfMask,
  DEFAULT_CAPABILITIES,
  effectiveCapabilities,
  LINUX_CAPABILITIES,
  normalizeCapability,
  withCapabilities,
} from './capabilities';
import { emptySpec } from './container-spec';
import { containerConfig, specInput } from './test-input';

const change = (add: string[] = [], drop: string[] = [], ambient: string[] = []) => ({
  add_capabilities: add,
  drop_capabilities: drop,
  add_ambient_capabilities: ambient,
});

describe('capability names', () => {
  test('41 capabilities, numbered as in capability.h', () => {
    expect(LINUX_CAPABILITIES).toHaveLength(41);
    expect(LINUX_CAPABILITIES[21]).toBe('CAP_SYS_ADMIN');
    expect(LINUX_CAPABILITIES[40]).toBe('CAP_CHECKPOINT_RESTORE');
    expect(allCapabilities(37)).toHaveLength(38);
  });

  test('containerd defaults: the 14 of Docker', () => {
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(DEFAULT_CAPABILITIES).toEqual(
      expect.arrayContaining(['CAP_NET_RAW', 'CAP_MKNOD', 'CAP_AUDIT_WRITE']),
    );
    expect(DEFAULT_CAPABILITIES).not.toContain('CAP_SYS_ADMIN');
  });

  test.each([
    ['NET_ADMIN', 'CAP_NET_ADMIN'],
    ['net_admin', 'CAP_NET_ADMIN'],
    ['CAP_SYS_TIME', 'CAP_SYS_TIME'],
    [' cap_bpf ', 'CAP_BPF'],
  ])('%s is %s', (name, full) => {
    expect(normalizeCapability(name)).toBe(full);
  });

  test('an unknown name is an InvalidArgument', () => {
    expect(() => normalizeCapability('SYS_GODMODE')).toThrow(InvalidArgumentError);
  });
});

describe('effectiveCapabilities', () => {
  test('no change: the defaults', () => {
    expect(effectiveCapabilities(DEFAULT_CAPABILITIES, null, 40)).toEqual({
      caps: DEFAULT_CAPABILITIES,
      ambient: [],
    });
  });

  test('add and drop single names, with or without CAP_', () => {
    const { caps } = effectiveCapabilities(
      DEFAULT_CAPABILITIES,
      change(['NET_ADMIN', 'CAP_SYS_TIME'], ['chown']),
      40,
    );
    expect(caps).toContain('CAP_NET_ADMIN');
    expect(caps).toContain('CAP_SYS_TIME');
    expect(caps).not.toContain('CAP_CHOWN');
    expect(caps).toHaveLength(15);
  });

  test('add ALL then drop one', () => {
    const { caps } = effectiveCapabilities(DEFAULT_CAPABILITIES, change(['ALL'], ['SYS_ADMIN']), 40);
    expect(caps).toHaveLength(40);
    expect(caps).not.toContain('CAP_SYS_ADMIN');
  });

  test('drop ALL then add one', () => {
    expect(
      effectiveCapabilities(DEFAULT_CAPABILITIES, change(['NET_BIND_SERVICE'], ['all']), 40).caps,
    ).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  test('drop ALL wins over add ALL', () => {
    expect(effectiveCapabilities(DEFAULT_CAPABILITIES, change(['ALL'], ['ALL']), 40).caps).toEqual([]);
  });

  test('ambient capabilities join every set; a dropped one goes', () => {
    const { caps, ambient } = effectiveCapabilities(
      [],
      change([], ['KILL'], ['NET_BIND_SERVICE', 'KILL']),
      40,
    );
    expect(ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(caps).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  test('capabilities the kernel lacks are left out', () => {
    const { caps } = effectiveCapabilities([], change(['ALL']), 37);
    expect(caps).toHaveLength(38);
    expect(caps).not.toContain('CAP_BPF');
    expect(effectiveCapabilities([], change(['BPF']), 37).caps).toEqual([]);
  });

  test('an unknown added capability is an InvalidArgument', () => {
    expect(() => effectiveCapabilities([], change(['NOPE']), 40)).toThrow(InvalidArgumentError);
  });
});

describe('withCapabilities', () => {
  test('non-privileged: bounding, permitted, effective; inheritable empty', () => {
    const spec = emptySpec();
    withCapabilities(spec, specInput());
    expect(spec.process.capabilities).toEqual({
      bounding: DEFAULT_CAPABILITIES,
      effective: DEFAULT_CAPABILITIES,
      permitted: DEFAULT_CAPABILITIES,
      inheritable: [],
      ambient: [],
    });
  });

  test('privileged: every capability the kernel has, whatever the add/drop says', () => {
    const spec = emptySpec();
    withCapabilities(
      spec,
      specInput({ config: containerConfig({}, { privileged: true, capabilities: change([], ['ALL']) }) }),
    );
    expect(spec.process.capabilities?.bounding).toEqual([...LINUX_CAPABILITIES]);
    expect(spec.process.capabilities?.effective).toHaveLength(41);
  });

  test('privileged and ALL: only what the daemon holds (no CAP_SYS_RESOURCE here, say)', () => {
    const held = LINUX_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
    const features = { ...specInput().features, boundingCapabilities: held };
    for (const sc of [{ privileged: true }, { capabilities: change(['ALL']) }]) {
      const spec = emptySpec();
      withCapabilities(spec, specInput({ config: containerConfig({}, sc), features }));
      expect(spec.process.capabilities?.bounding).toEqual(held);
    }
  });
});

test('capabilitiesOfMask reads a CapBnd mask', () => {
  expect(capabilitiesOfMask(0xa80425fbn)).toEqual([...DEFAULT_CAPABILITIES].sort(byNumber));
  expect(capabilitiesOfMask(0x1fffeffffffn)).toEqual(
    LINUX_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'),
  );
});

function byNumber(a: string, b: string): number {
  const index = (c: string) => (LINUX_CAPABILITIES as readonly string[]).indexOf(c);
  return index(a) - index(b);
}
