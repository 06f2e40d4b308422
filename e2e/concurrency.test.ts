/**
 * Many pods and containers made, used and removed at once while a kubelet-like poller lists and
 * reads stats: every call succeeds, each container sees its own pod, and nothing is left.
 */
import { mountsUnder } from '../common/testing/kernel';
import { PodFixture } from './pod-fixture';

describe('concurrent lifecycles', () => {
  let fixture: PodFixture;

  beforeAll(async () => {
    fixture = await PodFixture.start('many');
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  test('24 pods of 3 containers at once, with exec, removed running, under constant listing', async () => {
    const runtime = fixture.client.runtime;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await runtime.ListPodSandbox({});
        await runtime.ListContainers({});
        await runtime.ListContainerStats({});
      }
    })();
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        try {
          const podId = await fixture.runPod(`pod-${i}`);
          const ids = await Promise.all([0, 1, 2].map((c) => fixture.run(podId, `c${c}`, ['sleep', '3600'])));
          for (const id of ids) {
            const out = await fixture.exec(id, ['hostname']);
            if (out.exitCode !== 0 || out.stdout !== `pod-${i}\n`)
              failures.push(`${id}: ${JSON.stringify(out)}`);
          }
          // The kubelet may remove a pod whose containers still run: the runtime stops them first.
          await runtime.RemovePodSandbox({ pod_sandbox_id: podId });
        } catch (err) {
          failures.push(`pod-${i}: ${(err as Error).message}`);
        }
      }),
    );
    polling = false;
    await poller;
    expect(failures).toEqual([]);
    expect((await runtime.ListPodSandbox({})).items).toEqual([]);
    expect((await runtime.ListContainers({})).containers).toEqual([]);
    expect(mountsUnder(fixture.daemon.dir)).toEqual([]);
  }, 120_000);
});
