import type { Config } from './config';

/**
 * The Stream* list RPCs (StreamPodSandboxes, StreamContainers, StreamImages and the stats ones)
 * answer what their List* twin answers, cut into messages small enough for the client's receive
 * limit: a List* response on a busy node can pass the 4 MiB a gRPC client accepts by default.
 */

/**
 * Sends `items` in order, as consecutive batches of at most `limits.max_items` items whose encoded
 * sizes add up to at most `limits.max_bytes`; an item larger than that on its own goes alone.
 * Nothing is sent for no items: the stream just ends, as containerd does (the kubelet reads an
 * empty list from a stream with no message). Checks `signal` before each batch, so a cancelled
 * call stops sending.
 */
export async function sendInBatches<T>(
  items: readonly T[],
  limits: Config['stream_batch'],
  encodedSize: (item: T) => number,
  send: (batch: T[]) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = encodedSize(item);
    if (batch.length > 0 && (batch.length === limits.max_items || bytes + size > limits.max_bytes)) {
      signal.throwIfAborted();
      await send(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) {
    signal.throwIfAborted();
    await send(batch);
  }
}

/**
 * The bytes one item adds to a response message whose repeated `field` holds it: the encoding of a
 * response with that item alone, since a repeated field is encoded as one tagged, length-prefixed
 * record per element and a batch is their concatenation.
 */
export function encodedItemSize<R, K extends keyof R>(
  method: { responseSerialize: (value: R) => Buffer },
  field: K,
): (item: NonNullable<R[K]> extends readonly (infer I)[] ? I : never) => number {
  return (item) => method.responseSerialize({ [field]: [item] } as R).length;
}
