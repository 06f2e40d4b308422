import type { ContainerEventResponse } from '../api/generated/runtime/v1/ContainerEventResponse';
import type { ContainerEventType__Output } from '../api/generated/runtime/v1/ContainerEventType';
import { EventBus, type Subscription } from '../common/event-bus';
import { nowNanos } from '../common/time';
import type { ContainerEvents } from '../oci/container-manager';
import type { ContainerRecord } from '../oci/container-record';
import type { SandboxEvents } from '../sandbox/sandbox-manager';
import type { SandboxRecord } from '../sandbox/sandbox-record';
import { containerStatusOf } from './container-status';
import type { Logger } from './logger';
import { podSandboxStatusOf } from './sandbox-status';

/**
 * Events a subscriber may have waiting before new ones are dropped for it (containerd's CRI
 * plugin buffers 1000 as well). A kubelet that falls this far behind relists anyway.
 */
export const EVENT_BUFFER_SIZE = 1000;

/** Where the events' statuses are read: the pod's sandbox and its containers as they are now. */
export interface PodStates {
  sandbox(podId: string): SandboxRecord | undefined;
  containers(podId: string): ContainerRecord[];
}

/**
 * The CRI container event stream's source: the managers tell it each lifecycle step once it is
 * recorded, and it hands every subscriber (each GetContainerEvents call) the event with the
 * statuses of that moment: the pod sandbox's and those of all containers of the pod, built as
 * PodSandboxStatus and ContainerStatus build them, so the kubelet's evented PLEG can update its
 * cache without a relist. Statuses are built once per event, and not at all while nobody listens.
 */
export class LifecycleEvents implements ContainerEvents, SandboxEvents {
  private readonly bus: EventBus<ContainerEventResponse>;
  private states?: PodStates;

  constructor(private readonly logger: Logger) {
    this.bus = new EventBus(EVENT_BUFFER_SIZE, (dropped) =>
      this.logger.warn('container events dropped: a subscriber is not reading', { dropped }),
    );
  }

  /** Where statuses come from; the managers are made after this, as they publish to it. */
  readStatesFrom(states: PodStates): void {
    this.states = states;
  }

  get subscriberCount(): number {
    return this.bus.subscriberCount;
  }

  subscribe(): Subscription<ContainerEventResponse> {
    return this.bus.subscribe();
  }

  /** Ends every subscription (the daemon stops). */
  close(): void {
    this.bus.close();
  }

  containerEvent(type: ContainerEventType__Output, record: ContainerRecord): void {
    if (!this.bus.hasSubscribers) return;
    const sandbox = this.states?.sandbox(record.podId);
    this.publish(type, record.id, sandbox, record.podId);
  }

  /**
   * A sandbox event's container is the sandbox itself. A deleted sandbox is no longer stored,
   * so its last record gives the status: the kubelet drops a pod from its cache only on a
   * DELETED event that carries the pod's sandbox status.
   */
  sandboxEvent(type: ContainerEventType__Output, record: SandboxRecord): void {
    if (!this.bus.hasSubscribers) return;
    this.publish(type, record.id, record, record.id);
  }

  private publish(
    type: ContainerEventType__Output,
    containerId: string,
    sandbox: SandboxRecord | undefined,
    podId: string,
  ): void {
    this.bus.publish({
      container_id: containerId,
      container_event_type: type,
      created_at: nowNanos(),
      // A container of a pod that is gone has none (the kubelet skips such an event).
      pod_sandbox_status: sandbox ? podSandboxStatusOf(sandbox) : null,
      // A deleted container is no longer among them: that is what DELETED tells.
      containers_statuses: (this.states?.containers(podId) ?? []).map(containerStatusOf),
    });
  }
}
