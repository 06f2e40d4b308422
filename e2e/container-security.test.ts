/**
 * What a container's security context and resources become in the kernel, seen from inside the
 * container (id, /proc/self/status, the syscalls it may make) and from the host (its cgroup).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import type { LinuxContainerSecurityContext } from '../api/generated/runtime/v1/LinuxContainerSecurityContext';
import { PodFixture } from './pod-fixture';

/** An image user database with a user in two groups besides its own. */
const USER_FILES = [
  {
    name: 'etc/passwd',
    content:
      'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\napp:x:2000:2000:app:/:/bin/sh\n',
  },
  {
    name: 'etc/group',
    content: 'root:x:0:\ntty:x:5:\nstaff:x:50:app\nuser:x:1000:\napp:x:2000:\nextra:x:3000:user,app\n',
  },
];

/** Docker's and containerd's 14 default capabilities as a /proc/<pid>/status mask. */
const DEFAULT_CAP_MASK = 0xa80425fbn;
const CAP_CHOWN = 0n;
const CAP_NET_ADMIN = 12n;

describe('container security context and resources over CRI', () => {
  let fixture: PodFixture;
  let podId: string;
  let privilegedPodId: string;

  /** The security context of a plain container, with `sc` over it. */
  const secured = (sc: LinuxContainerSecurityContext, extra: Partial<ContainerConfig> = {}) => ({
    ...extra,
    linux: {
      resources: {},
      ...extra.linux,
      security_context: { namespace_options: { pid: 'CONTAINER' as const }, ...sc },
    },
  });

  /** Runs `command` to its end in the pod; returns its exit code and its log's stdout text. */
  async function runToEnd(
    name: string,
    command: string[],
    extra: Partial<ContainerConfig> = {},
    pod = podId,
  ): Promise<{ exitCode: number; stdout: string }> {
    const id = await fixture.run(pod, name, command, extra);
    const status = await fixture.exited(id);
    const stdout = (await fixture.logLines(id, 'stdout')).join('\n');
    await fixture.client.runtime.RemoveContainer({ container_id: id });
    return { exitCode: status.exit_code, stdout };
  }

  /** `id`'s groups, sorted: the kernel keeps supplementary groups sorted, busybox prints them so. */
  const idOf = async (name: string, extra: Partial<ContainerConfig>) => {
    const { stdout } = await runToEnd(name, ['id'], extra);
    const [, user, groups] = /^(uid=\S+ gid=\S+) groups=(\S+)$/.exec(stdout.trim()) ?? [];
    return { user, groups: groups?.split(',').sort() };
  };

  const capabilities = async (name: string, extra: Partial<ContainerConfig>, pod = podId) => {
    const { stdout } = await runToEnd(
      name,
      ['grep', '-E', '^Cap(Bnd|Eff):', '/proc/self/status'],
      extra,
      pod,
    );
    const mask = (field: string) => BigInt(`0x${new RegExp(`^${field}:\\s+(\\w+)$`, 'm').exec(stdout)![1]}`);
    return { bounding: mask('CapBnd'), effective: mask('CapEff') };
  };

  beforeAll(async () => {
    fixture = await PodFixture.start('sec', {
      users: { files: USER_FILES },
      userGroup: { config: { User: 'app:staff' }, files: USER_FILES },
      uidGid: { config: { User: '2000:3000' }, files: USER_FILES },
    });
    podId = await fixture.runPod('sec');
    privilegedPodId = await fixture.runPod('privileged', { privileged: true });
  }, 120_000);

  afterAll(() => fixture?.close());

  test('run_as_username resolves in the image, with its groups merged or, Strict, not', async () => {
    const users = { image: { image: fixture.images.users } };
    expect(await idOf('by-name', { ...users, ...secured({ run_as_username: 'app' }) })).toEqual({
      user: 'uid=2000(app) gid=2000(app)',
      groups: ['2000(app)', '3000(extra)', '50(staff)'],
    });
    expect(
      await idOf('merge', {
        ...users,
        ...secured({
          run_as_username: 'app',
          supplemental_groups: ['5'],
          supplemental_groups_policy: 'Merge',
        }),
      }),
    ).toEqual({
      user: 'uid=2000(app) gid=2000(app)',
      groups: ['2000(app)', '3000(extra)', '5(tty)', '50(staff)'],
    });
    expect(
      await idOf('strict', {
        ...users,
        ...secured({
          run_as_username: 'app',
          supplemental_groups: ['5'],
          supplemental_groups_policy: 'Strict',
        }),
      }),
    ).toEqual({ user: 'uid=2000(app) gid=2000(app)', groups: ['2000(app)', '5(tty)'] });
    await expect(
      fixture.create(podId, 'nobody', ['id'], { ...users, ...secured({ run_as_username: 'nobody' }) }),
    ).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: expect.stringContaining('nobody'),
    });
  });

  test("the image's USER applies in its name:group and uid:gid forms", async () => {
    expect(await idOf('user-group', { image: { image: fixture.images.userGroup } })).toEqual({
      user: 'uid=2000(app) gid=50(staff)',
      groups: ['3000(extra)', '50(staff)'],
    });
    expect(await idOf('uid-gid', { image: { image: fixture.images.uidGid } })).toEqual({
      user: 'uid=2000(app) gid=3000(extra)',
      groups: ['3000(extra)', '50(staff)'],
    });
    // run_as_user wins over the image's USER.
    expect(
      (
        await idOf('override', {
          image: { image: fixture.images.uidGid },
          ...secured({ run_as_user: { value: 0 } }),
        })
      ).user,
    ).toBe('uid=0(root) gid=0(root)');
  });

  test('capabilities: the default set, add and drop, none effective for a non-root user, all when privileged', async () => {
    // All the daemon has (this test's own set): a host may withhold some (CAP_SYS_RESOURCE here).
    const all = BigInt(`0x${/^CapBnd:\s*(\w+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    expect(await capabilities('caps-default', {})).toEqual({
      bounding: DEFAULT_CAP_MASK,
      effective: DEFAULT_CAP_MASK,
    });
    const changed = (DEFAULT_CAP_MASK & ~(1n << CAP_CHOWN)) | (1n << CAP_NET_ADMIN);
    expect(
      await capabilities(
        'caps-changed',
        secured({ capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['CHOWN'] } }),
      ),
    ).toEqual({ bounding: changed, effective: changed });
    expect(await capabilities('caps-user', secured({ run_as_user: { value: 1000 } }))).toEqual({
      bounding: DEFAULT_CAP_MASK,
      effective: 0n,
    });
    expect(await capabilities('caps-privileged', secured({ privileged: true }), privilegedPodId)).toEqual({
      bounding: all,
      effective: all,
    });
    // A privileged container needs a privileged pod.
    await expect(
      fixture.create(podId, 'not-allowed', ['true'], secured({ privileged: true })),
    ).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
  });

  test('devices: the host devices only when privileged; the device cgroup forbids the rest', async () => {
    const plain = await fixture.run(podId, 'dev-plain', ['sleep', '3600']);
    const privileged = await fixture.run(
      privilegedPodId,
      'dev-privileged',
      ['sleep', '3600'],
      secured({ privileged: true }),
    );
    expect((await fixture.exec(plain, ['test', '-e', '/dev/kmsg'])).exitCode).toBe(1);
    expect((await fixture.exec(privileged, ['test', '-c', '/dev/kmsg'])).exitCode).toBe(0);

    // CAP_MKNOD makes the node; the cgroup decides whether it can be opened (1:11 is kmsg).
    expect(await fixture.exec(plain, ['mknod', '/dev/my-kmsg', 'c', '1', '11'])).toMatchObject({
      exitCode: 0,
    });
    const write = await fixture.exec(plain, ['sh', '-c', 'echo x > /dev/my-kmsg']);
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Operation not permitted/);
    expect(
      await fixture.exec(plain, ['sh', '-c', 'mknod /dev/my-null c 1 3 && echo x > /dev/my-null']),
    ).toMatchObject({
      exitCode: 0,
    });
    expect(
      await fixture.exec(privileged, ['sh', '-c', 'mknod /dev/my-kmsg c 1 11 && true < /dev/my-kmsg']),
    ).toMatchObject({ exitCode: 0 });
    for (const id of [plain, privileged]) await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test('a read-only rootfs: / and /tmp are not writable unless a volume (here a tmpfs) is mounted there', async () => {
    const emptyDir = path.join(fixture.workDir, 'empty-dir');
    fs.mkdirSync(emptyDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', emptyDir]);
    try {
      const script =
        'for f in /x /tmp/x /dev/shm/x; do touch $f 2>/dev/null && echo "$f rw" || echo "$f ro"; done';
      const bare = await runToEnd('ro-bare', ['sh', '-c', script], secured({ readonly_rootfs: true }));
      expect(bare.stdout).toBe('/x ro\n/tmp/x ro\n/dev/shm/x rw');
      const withTmp = await runToEnd(
        'ro-tmp',
        ['sh', '-c', script],
        secured({ readonly_rootfs: true }, { mounts: [{ host_path: emptyDir, container_path: '/tmp' }] }),
      );
      expect(withTmp.stdout).toBe('/x ro\n/tmp/x rw\n/dev/shm/x rw');
      expect(fs.existsSync(path.join(emptyDir, 'x'))).toBe(true);
    } finally {
      execFileSync('umount', ['--lazy', emptyDir]);
    }
  });

  test('seccomp: RuntimeDefault refuses unshare, Unconfined allows it, a Localhost profile applies', async () => {
    const script = 'unshare -U true 2>&1 && echo allowed; grep ^Seccomp: /proc/self/status';
    expect(
      (
        await runToEnd(
          'sc-default',
          ['sh', '-c', script],
          secured({ seccomp: { profile_type: 'RuntimeDefault' } }),
        )
      ).stdout,
    ).toMatch(/Operation not permitted\nSeccomp:\s+2$/);
    expect(
      (
        await runToEnd(
          'sc-unconfined',
          ['sh', '-c', script],
          secured({ seccomp: { profile_type: 'Unconfined' } }),
        )
      ).stdout,
    ).toMatch(/^allowed\nSeccomp:\s+0$/);

    const profile = path.join(fixture.workDir, 'no-mkdir.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const localhost = await runToEnd(
      'sc-localhost',
      ['sh', '-c', 'touch /tmp/f && echo touched; mkdir /tmp/d 2>&1'],
      secured({ seccomp: { profile_type: 'Localhost', localhost_ref: profile } }),
    );
    expect(localhost.stdout).toMatch(
      /^touched\nmkdir: can't create directory '\/tmp\/d': Operation not permitted$/,
    );
    await expect(
      fixture.create(
        podId,
        'sc-missing',
        ['true'],
        secured({ seccomp: { profile_type: 'Localhost', localhost_ref: `${profile}.gone` } }),
      ),
    ).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
  });

  test('cpu shares, quota and period and the cpuset reach the cgroup the process runs in', async () => {
    const id = await fixture.run(podId, 'cpu', ['sleep', '3600'], {
      linux: {
        resources: {
          cpu_shares: 256,
          cpu_quota: 50_000,
          cpu_period: 100_000,
          cpuset_cpus: '0',
          cpuset_mems: '0',
        },
        security_context: { namespace_options: { pid: 'CONTAINER' } },
      },
    });
    const { cgroupsPath, pid } = (await fixture.info(id)) as { cgroupsPath: string; pid: number };
    const read = (controller: string, file: string) =>
      fs.readFileSync(`/sys/fs/cgroup/${controller}${cgroupsPath}/${file}`, 'utf8').trim();
    expect(read('cpu', 'cpu.shares')).toBe('256');
    expect(read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(read('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(read('cpuset', 'cpuset.cpus')).toBe('0');
    expect(read('cpuset', 'cpuset.mems')).toBe('0');
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(
      new RegExp(`:cpuset:${cgroupsPath}$`, 'm'),
    );
    expect((await fixture.exec(id, ['grep', 'Cpus_allowed_list', '/proc/self/status'])).stdout).toMatch(
      /:\s+0\n$/,
    );
    // The pids limit has no field in CRI's LinuxContainerResources (the kubelet sets it on the
    // pod's cgroup), so there is nothing of the container's to test.
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });
});
