import { InvalidArgumentError } from '../../common/errors';
import type { OciSeccomp } from '../spec-types';
import { DEFAULT_CAPABILITIES, LINUX_CAPABILITIES } from './capabilities';
import { emptySpec } from './container-spec';
import { kernelAtLeast, resolveSeccomp, seccompChoice, withSeccomp } from './seccomp';
import { DEFAULT_SECCOMP_TEMPLATE } from './seccomp-default';
import { containerConfig, lookups, specInput } from './test-input';

const host = { arch: 'x64', kernelRelease: '6.1.0-18-amd64', capabilities: DEFAULT_CAPABILITIES };

/** The actions the profile gives a syscall, over all its rules. */
function rulesFor(profile: OciSeccomp, name: string) {
  return (profile.syscalls ?? []).filter((r) => r.names.includes(name));
}

function allowedUnconditionally(profile: OciSeccomp, name: string): boolean {
  return rulesFor(profile, name).some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args);
}

describe('the RuntimeDefault profile', () => {
  const profile = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, host);

  test('denies with EPERM by default, for x86-64 and its 32-bit ABIs', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    expect(profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  test.each([
    'read',
    'write',
    'openat',
    'execve',
    'futex',
    'epoll_wait',
    'rt_sigreturn',
    'io_uring_setup',
    'arch_prctl',
  ])('allows %s', (name) => expect(allowedUnconditionally(profile, name)).toBe(true));

  test.each([
    'mount',
    'umount2',
    'unshare',
    'setns',
    'bpf',
    'kexec_load',
    'keyctl',
    'add_key',
    'userfaultfd',
    'reboot',
    'init_module',
    'swapon',
    'clock_settime',
    'open_by_handle_at',
  ])('does not allow %s without the capability for it', (name) => {
    expect(allowedUnconditionally(profile, name)).toBe(false);
  });

  test('chroot is allowed with the default CAP_SYS_CHROOT', () => {
    expect(allowedUnconditionally(profile, 'chroot')).toBe(true);
  });

  test('ptrace from kernel 4.8 on only', () => {
    expect(allowedUnconditionally(profile, 'ptrace')).toBe(true);
    const old = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, { ...host, kernelRelease: '4.4.0' });
    expect(allowedUnconditionally(old, 'ptrace')).toBe(false);
  });

  test('clone without namespace flags; clone3 answers ENOSYS so libc falls back to clone', () => {
    expect(rulesFor(profile, 'clone')).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
    expect(rulesFor(profile, 'clone3')).toEqual([
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ]);
  });

  test('socket except AF_VSOCK; personality only for the harmless values', () => {
    expect(rulesFor(profile, 'socket')).toEqual([
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
    ]);
    expect(rulesFor(profile, 'personality').map((r) => r.args?.[0].value)).toEqual([
      0, 8, 0x20000, 0x20008, 0xffffffff,
    ]);
  });

  test('CAP_SYS_ADMIN opens mount, unshare and plain clone/clone3, and drops the masked clone rule', () => {
    const admin = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, {
      ...host,
      capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
    });
    for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'bpf']) {
      expect(allowedUnconditionally(admin, name)).toBe(true);
    }
    expect(rulesFor(admin, 'clone3').some((r) => r.action === 'SCMP_ACT_ERRNO')).toBe(false);
    expect(rulesFor(admin, 'clone').some((r) => r.args)).toBe(false);
  });

  test('every capability group opens its own syscalls', () => {
    const all = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, { ...host, capabilities: [...LINUX_CAPABILITIES] });
    for (const name of [
      'reboot',
      'init_module',
      'acct',
      'kcmp',
      'iopl',
      'settimeofday',
      'vhangup',
      'mbind',
      'syslog',
    ]) {
      expect(allowedUnconditionally(all, name)).toBe(true);
    }
    expect(allowedUnconditionally(all, 'open_by_handle_at')).toBe(true);
  });

  test('arm64 hosts: AArch64 with ARM, the arm-only syscalls, and no x86 ones', () => {
    const arm = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, { ...host, arch: 'arm64' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowedUnconditionally(arm, 'cacheflush')).toBe(true);
    expect(allowedUnconditionally(arm, 'arch_prctl')).toBe(false);
  });

  test('s390x: clone checked on its second argument', () => {
    const s390 = resolveSeccomp(DEFAULT_SECCOMP_TEMPLATE, { ...host, arch: 's390x' });
    expect(rulesFor(s390, 'clone').map((r) => r.args?.[0].index)).toEqual([1]);
  });
});

describe('seccompChoice', () => {
  test.each([
    [null, '', { kind: 'unconfined' }],
    [null, 'unconfined', { kind: 'unconfined' }],
    [null, 'runtime/default', { kind: 'runtime-default' }],
    [null, 'docker/default', { kind: 'runtime-default' }],
    [null, 'localhost//etc/p.json', { kind: 'localhost', path: '/etc/p.json' }],
    [
      { profile_type: 'RuntimeDefault' as const, localhost_ref: '' },
      'unconfined',
      { kind: 'runtime-default' },
    ],
    [{ profile_type: 'Unconfined' as const, localhost_ref: '' }, '', { kind: 'unconfined' }],
    [
      { profile_type: 'Localhost' as const, localhost_ref: '/p.json' },
      '',
      { kind: 'localhost', path: '/p.json' },
    ],
  ])('%j / "%s"', (profile, legacy, expected) => {
    expect(seccompChoice(profile, legacy)).toEqual(expected);
  });

  test('relative Localhost paths and unknown names are refused', () => {
    expect(() => seccompChoice({ profile_type: 'Localhost', localhost_ref: 'p.json' }, '')).toThrow(
      InvalidArgumentError,
    );
    expect(() => seccompChoice(null, 'strict')).toThrow(InvalidArgumentError);
  });
});

describe('withSeccomp', () => {
  const runtimeDefault = { seccomp: { profile_type: 'RuntimeDefault' as const, localhost_ref: '' } };

  test('RuntimeDefault follows the bounding set already in the spec', () => {
    const spec = emptySpec();
    spec.process.capabilities = { bounding: ['CAP_SYS_ADMIN'] };
    withSeccomp(spec, specInput({ config: containerConfig({}, runtimeDefault) }));
    expect(allowedUnconditionally(spec.linux.seccomp!, 'mount')).toBe(true);
    expect(allowedUnconditionally(spec.linux.seccomp!, 'chroot')).toBe(false);
  });

  test('unconfined and privileged containers get no filter', () => {
    for (const sc of [{}, { seccomp_profile_path: 'unconfined' }, { privileged: true, ...runtimeDefault }]) {
      const spec = emptySpec();
      withSeccomp(spec, specInput({ config: containerConfig({}, sc) }));
      expect(spec.linux.seccomp).toBeUndefined();
    }
  });

  test('a Localhost profile in OCI form passes through', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    };
    const spec = emptySpec();
    const read: string[] = [];
    withSeccomp(
      spec,
      specInput({
        config: containerConfig(
          {},
          { seccomp: { profile_type: 'Localhost', localhost_ref: '/profiles/p.json' } },
        ),
        lookups: lookups({
          readSeccompProfile: (p) => {
            read.push(p);
            return JSON.stringify(profile);
          },
        }),
      }),
    );
    expect(read).toEqual(['/profiles/p.json']);
    expect(spec.linux.seccomp).toEqual(profile);
  });

  test('a Localhost profile in Docker form is resolved like the default', () => {
    const docker = {
      defaultAction: 'SCMP_ACT_ERRNO',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { name: 'read', action: 'SCMP_ACT_ALLOW' },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['write'], action: 'SCMP_ACT_ALLOW', comment: 'kept', excludes: { arches: ['arm64'] } },
      ],
    };
    const spec = emptySpec();
    spec.process.capabilities = { bounding: DEFAULT_CAPABILITIES };
    withSeccomp(
      spec,
      specInput({
        config: containerConfig({}, { seccomp_profile_path: 'localhost//p.json' }),
        lookups: lookups({ readSeccompProfile: () => JSON.stringify(docker) }),
      }),
    );
    expect(spec.linux.seccomp).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
  });

  test.each([
    [
      'unreadable',
      () => {
        throw new Error('ENOENT');
      },
      /cannot read seccomp profile \/p.json: ENOENT/,
    ],
    ['not JSON', () => '{', /not JSON/],
    ['without defaultAction', () => '{"syscalls": []}', /no defaultAction/],
    [
      'with a nameless rule',
      () => '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_LOG"}]}',
      /without names/,
    ],
  ])('a Localhost profile %s is an InvalidArgument', (_name, readSeccompProfile, message) => {
    const input = specInput({
      config: containerConfig({}, { seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' } }),
      lookups: lookups({ readSeccompProfile }),
    });
    expect(() => withSeccomp(emptySpec(), input)).toThrow(InvalidArgumentError);
    expect(() => withSeccomp(emptySpec(), input)).toThrow(message);
  });
});

describe('kernelAtLeast', () => {
  test.each([
    ['6.1.0-18-amd64', '4.8', true],
    ['4.8.0', '4.8', true],
    ['4.7.10', '4.8', false],
    ['3.19', '4.8', false],
    ['10.0', '4.8', true],
  ])('%s >= %s is %s', (release, wanted, expected) => {
    expect(kernelAtLeast(release, wanted)).toBe(expected);
  });
});
