/**
 * Fan-out of events to subscribers, each with a bounded buffer of its own. Publishing never
 * blocks and never waits for a reader: an event that finds a subscriber's buffer full is dropped
 * for that subscriber alone and counted, so a slow or stuck reader costs the publisher nothing
 * and holds at most `bufferSize` events in memory.
 */
export class EventBus<T> {
  private readonly subscribers = new Set<Subscription<T>>();
  private closed = false;

  constructor(
    private readonly bufferSize: number,
    /** Told of the first drop after a run of delivered events, not of every one (logs stay short). */
    private readonly onDrop: (dropped: number) => void = () => {},
  ) {
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`an event buffer holds at least one event, not ${bufferSize}`);
    }
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Whether anyone listens: publishers skip building an event nobody would read. */
  get hasSubscribers(): boolean {
    return this.subscribers.size > 0;
  }

  /** A subscription that receives the events published from now on, until it is closed. */
  subscribe(): Subscription<T> {
    const subscription = new Subscription<T>(this.bufferSize, this.onDrop, (s) => this.subscribers.delete(s));
    if (this.closed) subscription.close();
    else this.subscribers.add(subscription);
    return subscription;
  }

  publish(event: T): void {
    for (const subscription of this.subscribers) subscription.push(event);
  }

  /** Ends every subscription (their readers see the end after the buffered events); later ones end at once. */
  close(): void {
    this.closed = true;
    for (const subscription of [...this.subscribers]) subscription.close();
  }
}

/** One reader's view of the bus: an async iterable that ends when the subscription is closed. */
export class Subscription<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private wake?: () => void;
  private isClosed = false;
  private droppedTotal = 0;
  private dropping = false;

  constructor(
    private readonly bufferSize: number,
    private readonly onDrop: (dropped: number) => void,
    private readonly detach: (subscription: Subscription<T>) => void,
  ) {}

  /** Events this subscriber lost to a full buffer. */
  get dropped(): number {
    return this.droppedTotal;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** @internal The bus's delivery; never blocks. */
  push(event: T): void {
    if (this.isClosed) return;
    if (this.buffer.length >= this.bufferSize) {
      this.droppedTotal++;
      if (!this.dropping) this.onDrop(this.droppedTotal);
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.buffer.push(event);
    this.wake?.();
  }

  /** Stops delivery and frees the subscriber's place on the bus; buffered events are still read. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.detach(this);
    this.wake?.();
  }

  /** The next event, or undefined once the subscription is closed and its buffer read. */
  async next(): Promise<T | undefined> {
    while (this.buffer.length === 0) {
      if (this.isClosed) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.buffer.shift();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let event = await this.next(); event !== undefined; event = await this.next()) yield event;
  }
}
