import type { ImageServiceHandlers } from '../api/generated/runtime/v1/ImageService';
import type { RuntimeServiceHandlers } from '../api/generated/runtime/v1/RuntimeService';
import { attachToContainer } from './container-attach';
import { createContainer } from './container-create';
import { getContainerEvents } from './container-events';
import { execInContainer } from './container-exec';
import { execSyncInContainer } from './container-exec-sync';
import { listContainers } from './container-list';
import { removeContainer } from './container-remove';
import { reopenContainerLog } from './container-reopen-log';
import { startContainer } from './container-start';
import { containerStats } from './container-stats';
import { listContainerStats } from './container-stats-list';
import { containerStatus } from './container-status';
import { streamContainers } from './container-stream';
import { streamContainerStats } from './container-stats-stream';
import { stopContainer } from './container-stop';
import { updateContainerResources } from './container-update';
import { releasingMemoryAfter } from '../common/memory-release';
import type { DaemonContext } from './context';
import { imageFsInfo } from './image-fs-info';
import { listImages } from './image-list';
import { pullImage } from './image-pull';
import { removeImage } from './image-remove';
import { imageStatus } from './image-status';
import { streamImages } from './image-stream';
import { listMetricDescriptors } from './metric-descriptors-list';
import type { ServiceImpl } from './rpc';
import { runtimeConfig } from './runtime-config';
import { updateRuntimeConfig } from './runtime-config-update';
import { status } from './runtime-status';
import { version } from './runtime-version';
import { listPodSandbox } from './sandbox-list';
import { listPodSandboxMetrics } from './sandbox-metrics-list';
import { streamPodSandboxMetrics } from './sandbox-metrics-stream';
import { removePodSandbox } from './sandbox-remove';
import { portForward } from './sandbox-port-forward';
import { runPodSandbox } from './sandbox-run';
import { podSandboxStats } from './sandbox-stats';
import { listPodSandboxStats } from './sandbox-stats-list';
import { podSandboxStatus } from './sandbox-status';
import { streamPodSandboxStats } from './sandbox-stats-stream';
import { stopPodSandbox } from './sandbox-stop';
import { streamPodSandboxes } from './sandbox-stream';
import { updatePodSandboxResources } from './sandbox-update-resources';

/**
 * The RuntimeService methods berth implements; the rest answer UNIMPLEMENTED. `apiVersion` is
 * the CRI API the service is registered under, which Version reports back.
 */
export function runtimeService(ctx: DaemonContext, apiVersion: string): ServiceImpl<RuntimeServiceHandlers> {
  return {
    Version: () => version(apiVersion),
    Status: (request) => status(ctx, request),
    RuntimeConfig: () => runtimeConfig(ctx),
    UpdateRuntimeConfig: (request) => updateRuntimeConfig(ctx, request),
    RunPodSandbox: (request) => releasingMemoryAfter(() => runPodSandbox(ctx, request)),
    StopPodSandbox: (request) => releasingMemoryAfter(() => stopPodSandbox(ctx, request)),
    RemovePodSandbox: (request) => releasingMemoryAfter(() => removePodSandbox(ctx, request)),
    PodSandboxStatus: (request) => podSandboxStatus(ctx, request),
    ListPodSandbox: (request) => listPodSandbox(ctx, request),
    StreamPodSandboxes: (request, send, call) => streamPodSandboxes(ctx, request, send, call),
    UpdatePodSandboxResources: (request) => updatePodSandboxResources(ctx, request),
    CreateContainer: (request) => releasingMemoryAfter(() => createContainer(ctx, request)),
    StartContainer: (request) => releasingMemoryAfter(() => startContainer(ctx, request)),
    StopContainer: (request) => releasingMemoryAfter(() => stopContainer(ctx, request)),
    RemoveContainer: (request) => releasingMemoryAfter(() => removeContainer(ctx, request)),
    ListContainers: (request) => listContainers(ctx, request),
    StreamContainers: (request, send, call) => streamContainers(ctx, request, send, call),
    ContainerStatus: (request) => containerStatus(ctx, request),
    UpdateContainerResources: (request) => updateContainerResources(ctx, request),
    ReopenContainerLog: (request) => reopenContainerLog(ctx, request),
    ExecSync: (request) => execSyncInContainer(ctx, request),
    Exec: (request) => execInContainer(ctx, request),
    Attach: (request) => attachToContainer(ctx, request),
    PortForward: (request) => portForward(ctx, request),
    ContainerStats: (request) => containerStats(ctx, request),
    ListContainerStats: (request) => listContainerStats(ctx, request),
    StreamContainerStats: (request, send, call) => streamContainerStats(ctx, request, send, call),
    PodSandboxStats: (request) => podSandboxStats(ctx, request),
    ListPodSandboxStats: (request) => listPodSandboxStats(ctx, request),
    GetContainerEvents: (_request, send, call) => getContainerEvents(ctx, send, call),
    StreamPodSandboxStats: (request, send, call) => streamPodSandboxStats(ctx, request, send, call),
    ListMetricDescriptors: () => listMetricDescriptors(),
    ListPodSandboxMetrics: () => listPodSandboxMetrics(ctx),
    StreamPodSandboxMetrics: (_request, send, call) => streamPodSandboxMetrics(ctx, send, call),
  };
}

/** The ImageService methods berth implements; the rest answer UNIMPLEMENTED. */
export function imageService(ctx: DaemonContext): ServiceImpl<ImageServiceHandlers> {
  return {
    PullImage: (request, call) => releasingMemoryAfter(() => pullImage(ctx, request, call.signal)),
    ImageStatus: (request) => imageStatus(ctx, request),
    ListImages: (request) => listImages(ctx, request),
    StreamImages: (request, send, call) => streamImages(ctx, request, send, call),
    RemoveImage: (request) => releasingMemoryAfter(() => removeImage(ctx, request)),
    ImageFsInfo: () => imageFsInfo(ctx),
  };
}
