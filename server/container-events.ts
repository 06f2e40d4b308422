import type { ContainerEventResponse } from '../api/generated/runtime/v1/ContainerEventResponse';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';

/**
 * GetContainerEvents: the lifecycle events from the moment of the call on, until the client
 * cancels or the daemon stops. A client that does not read loses events beyond its buffer
 * (see LifecycleEvents) rather than holding back the daemon.
 */
export async function getContainerEvents(
  ctx: DaemonContext,
  send: (event: ContainerEventResponse) => Promise<void> | void,
  call: CallContext,
): Promise<void> {
  const subscription = ctx.events.subscribe();
  const unsubscribe = () => subscription.close();
  call.signal.addEventListener('abort', unsubscribe, { once: true });
  if (call.signal.aborted) unsubscribe();
  ctx.logger.debug('container events subscriber joined', { subscribers: ctx.events.subscriberCount });
  try {
    for await (const event of subscription) {
      if (call.signal.aborted) break;
      await send(event);
    }
  } catch (err) {
    // A send cut short by the client's cancel is the stream's normal end.
    if (!call.signal.aborted) throw err;
  } finally {
    subscription.close();
    call.signal.removeEventListener('abort', unsubscribe);
    ctx.logger.debug('container events subscriber left', {
      subscribers: ctx.events.subscriberCount,
      dropped: subscription.dropped,
    });
  }
}
