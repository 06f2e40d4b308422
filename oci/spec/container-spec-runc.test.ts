/**
 * One real run of a generated spec: a busybox container under runc, joined to pod namespaces
 * pinned by berth-pinns, with the pod files, a user from the image's passwd, RuntimeDefault
 * seccomp and a read-only rootfs. The unit tests check the JSON; this checks that a runtime
 * accepts it and the kernel shows what it says.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NamespacePinner, type PinnedNamespaces } from '../../sandbox/namespaces';
import { makeRootfs, makeTempDir, writeBundle } from '../../native/testing/bundle';
import { buildNative, NATIVE_BIN } from '../../native/testing/proc';
import { removeCgroups } from '../testing/runtimes';
import { buildContainerSpec, DEFAULT_SPEC_DEFAULTS } from './container-spec';
import { hostLookups, probeHostFeatures } from './host-lookups';
import { containerConfig, resources, sandboxInfo } from './test-input';

const RUNC = '/usr/sbin/runc';
const describeWithRunc = fs.existsSync(RUNC) ? describe : describe.skip;

describeWithRunc('a generated spec under runc', () => {
  const id = `spec-smoke-${process.pid}`;
  const cgroupParent = `/berth-spec-smoke-${process.pid}`;
  let work: string;
  let pinner: NamespacePinner;
  let pinned: PinnedNamespaces = {};

  beforeAll(() => {
    if (!fs.existsSync(path.join(NATIVE_BIN, 'berth-pinns'))) buildNative();
    work = makeTempDir('berth-spec-smoke-');
    pinner = new NamespacePinner(path.join(NATIVE_BIN, 'berth-pinns'), path.join(work, 'ns'));
  });

  afterAll(async () => {
    spawnSync(RUNC, ['--root', path.join(work, 'state'), 'delete', '--force', id]);
    await pinner.unpin(Object.values(pinned));
    removeCgroups(cgroupParent);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('runs as the pod and the security context say', async () => {
    pinned = await pinner.pin('pod', { net: true, ipc: true, uts: true }, 'smoke-pod', {});
    const rootfs = makeRootfs(work);
    const stateDir = path.join(work, 'pod');
    const shmDir = path.join(work, 'shm');
    fs.mkdirSync(stateDir);
    fs.mkdirSync(shmDir);
    fs.writeFileSync(path.join(stateDir, 'hostname'), 'smoke-pod\n');
    fs.writeFileSync(path.join(stateDir, 'hosts'), '127.0.0.1 localhost smoke-pod\n');
    fs.writeFileSync(path.join(stateDir, 'resolv.conf'), 'nameserver 127.0.0.53\n');

    const script = [
      'id -u',
      'id -G',
      'hostname',
      'head -1 /etc/hosts',
      'grep ^Seccomp: /proc/self/status',
      'grep ^CapBnd: /proc/self/status',
      'readlink /proc/self/ns/net',
      'touch /x 2>/dev/null && echo writable || echo read-only',
    ].join('; ');
    const config = containerConfig(
      { command: ['sh', '-c', script] },
      {
        run_as_user: { value: '1000' },
        supplemental_groups: ['4000'],
        readonly_rootfs: true,
        namespace_options: {
          network: 'POD',
          ipc: 'POD',
          pid: 'CONTAINER',
          target_id: '',
          userns_options: null,
        },
        seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' },
      },
    );
    config.linux!.resources = resources({ memory_limit_in_bytes: String(64 << 20) });
    const spec = buildContainerSpec({
      id,
      config,
      sandbox: sandboxInfo({
        namespaces: pinned,
        pausePid: 0,
        cgroupsPath: `${cgroupParent}/pod`,
        stateDir,
        shmDir,
        hostname: 'smoke-pod',
      }),
      image: { config: { Cmd: ['sh'] }, rootfs },
      features: probeHostFeatures({ recursiveReadOnlyMounts: false }),
      defaults: DEFAULT_SPEC_DEFAULTS,
      lookups: hostLookups(rootfs, {
        targetPidNamespace: () => {
          throw new Error('no target');
        },
      }),
    });
    const bundle = writeBundle(work, 'bundle', spec);
    const result = spawnSync(RUNC, ['--root', path.join(work, 'state'), 'run', '--bundle', bundle, id], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const netIno = fs.statSync(pinned.net!).ino;
    expect(result.stdout.trim().split('\n')).toEqual([
      '1000',
      '1000 4000',
      'smoke-pod',
      '127.0.0.1 localhost smoke-pod',
      'Seccomp:\t2',
      'CapBnd:\t00000000a80425fb',
      `net:[${netIno}]`,
      'read-only',
    ]);
  });
});
