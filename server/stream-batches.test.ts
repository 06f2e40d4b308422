import { loadCri } from '../api';
import type { PodSandbox } from '../api/generated/runtime/v1/PodSandbox';
import { CancelledError } from '../common/errors';
import { encodedItemSize, sendInBatches } from './stream-batches';

const collect = async (
  items: number[],
  limits: { max_items: number; max_bytes: number },
  size: (n: number) => number = () => 1,
): Promise<number[][]> => {
  const batches: number[][] = [];
  await sendInBatches(
    items,
    limits,
    size,
    async (batch) => void batches.push(batch),
    new AbortController().signal,
  );
  return batches;
};

describe('sendInBatches', () => {
  test('cuts by count, keeping the order', async () => {
    expect(await collect([1, 2, 3, 4, 5], { max_items: 2, max_bytes: 100 })).toEqual([[1, 2], [3, 4], [5]]);
  });

  test('cuts by encoded size; an item over the budget goes alone', async () => {
    const batches = await collect([3, 3, 3, 9, 1, 1], { max_items: 100, max_bytes: 6 }, (n) => n);
    expect(batches).toEqual([[3, 3], [3], [9], [1, 1]]);
  });

  test('sends nothing for no items', async () => {
    expect(await collect([], { max_items: 2, max_bytes: 100 })).toEqual([]);
  });

  test('stops at the next batch once the call is cancelled', async () => {
    const controller = new AbortController();
    const sent: number[][] = [];
    const send = async (batch: number[]) => {
      sent.push(batch);
      controller.abort(new CancelledError('cancelled by the client'));
    };
    const run = sendInBatches([1, 2, 3], { max_items: 1, max_bytes: 100 }, () => 1, send, controller.signal);
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(sent).toEqual([[1]]);
  });
});

describe('encodedItemSize', () => {
  test('the sizes of the items add up to the size of the batch message', () => {
    const method = loadCri().runtime.v1.RuntimeService.service.StreamPodSandboxes;
    const items: PodSandbox[] = [1, 2, 3].map((n) => ({
      id: `${n}`.repeat(64),
      metadata: { name: `pod-${n}`, namespace: 'default', uid: `uid-${n}`, attempt: n },
      state: 'SANDBOX_READY',
      created_at: `${n}000000000000000000`,
      labels: { app: 'x'.repeat(n * 100) },
      annotations: { note: 'é'.repeat(n) },
    }));
    const size = encodedItemSize(method, 'pod_sandboxes');
    const sum = items.map(size).reduce((a, b) => a + b, 0);
    expect(sum).toBe(method.responseSerialize({ pod_sandboxes: items }).length);
    expect(size(items[2])).toBeGreaterThan(300);
  });
});
