import { EventBus } from './event-bus';

/** Reads everything a subscription holds now, without waiting for more. */
async function drain<T>(subscription: { next(): Promise<T | undefined>; close(): void }): Promise<T[]> {
  subscription.close();
  const events: T[] = [];
  for (let event = await subscription.next(); event !== undefined; event = await subscription.next()) {
    events.push(event);
  }
  return events;
}

describe('EventBus', () => {
  test('every subscriber gets the events published after it subscribed, in order', async () => {
    const bus = new EventBus<{ n: number }>(10);
    bus.publish({ n: 0 }); // nobody listens: gone
    const first = bus.subscribe();
    bus.publish({ n: 1 });
    const second = bus.subscribe();
    bus.publish({ n: 2 });
    expect(bus.subscriberCount).toBe(2);
    expect(await drain(first)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await drain(second)).toEqual([{ n: 2 }]);
  });

  test('a waiting reader wakes on the next event and its iteration ends when it is closed', async () => {
    const bus = new EventBus<string>(4);
    const subscription = bus.subscribe();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of subscription) seen.push(event);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    bus.publish('a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['a']);
    bus.publish('b');
    subscription.close();
    await reading;
    expect(seen).toEqual(['a', 'b']);
  });

  test('a full buffer drops the new events for that subscriber alone, counted, and tells once per run', async () => {
    const drops: number[] = [];
    const bus = new EventBus<number>(2, (dropped) => drops.push(dropped));
    const slow = bus.subscribe();
    const fast = bus.subscribe();
    const fastSeen: number[] = [];
    for (let n = 1; n <= 5; n++) {
      bus.publish(n);
      fastSeen.push((await fast.next())!);
    }
    expect(fastSeen).toEqual([1, 2, 3, 4, 5]);
    expect(fast.dropped).toBe(0);
    expect(slow.dropped).toBe(3);
    expect(drops).toEqual([1]);
    expect(await slow.next()).toBe(1); // room again: the next event is kept, a later overflow tells again
    bus.publish(6);
    bus.publish(7);
    expect(drops).toEqual([1, 4]);
    expect(await drain(slow)).toEqual([2, 6]);
  });

  test('unsubscribing frees the place on the bus and stops delivery', async () => {
    const bus = new EventBus<number>(4);
    const subscription = bus.subscribe();
    expect(bus.hasSubscribers).toBe(true);
    subscription.close();
    expect(bus.subscriberCount).toBe(0);
    expect(bus.hasSubscribers).toBe(false);
    bus.publish(1);
    expect(await subscription.next()).toBeUndefined();
  });

  test('closing the bus ends every subscription, and later ones at once', async () => {
    const bus = new EventBus<number>(4);
    const subscription = bus.subscribe();
    const waiting = subscription.next();
    bus.close();
    expect(await waiting).toBeUndefined();
    expect(bus.subscriberCount).toBe(0);
    const late = bus.subscribe();
    expect(late.closed).toBe(true);
    expect(await late.next()).toBeUndefined();
  });

  test('a buffer must hold at least one event', () => {
    expect(() => new EventBus<number>(0)).toThrow(RangeError);
  });
});
