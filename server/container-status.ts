import type { ContainerStatusRequest__Output } from '../api/generated/runtime/v1/ContainerStatusRequest';
import type { ContainerStatus } from '../api/generated/runtime/v1/ContainerStatus';
import type { ContainerStatusResponse } from '../api/generated/runtime/v1/ContainerStatusResponse';
import type { Signal } from '../api/generated/runtime/v1/Signal';
import { InvalidArgumentError } from '../common/errors';
import { containerState, type ContainerRecord } from '../oci/container-record';
import type { DaemonContext } from './context';

/** ContainerStatus: state, timestamps, exit, image, mounts, log path; with verbose, the details. */
export async function containerStatus(
  ctx: DaemonContext,
  request: ContainerStatusRequest__Output,
): Promise<ContainerStatusResponse> {
  if (!request.container_id) throw new InvalidArgumentError('ContainerStatus needs a container_id');
  const record = ctx.containers.get(request.container_id);
  return {
    status: containerStatusOf(record),
    info: request.verbose ? { info: JSON.stringify(verboseInfo(ctx, record)) } : {},
  };
}

/** The CRI status of a container record (also what container events carry). */
export function containerStatusOf(record: ContainerRecord): ContainerStatus {
  const { config } = record;
  return {
    id: record.id,
    metadata: config.metadata,
    state: containerState(record),
    created_at: record.createdAt,
    started_at: record.startedAt ?? '0',
    finished_at: record.finishedAt ?? '0',
    exit_code: record.exitCode ?? 0,
    image: { image: record.imageName, annotations: config.image?.annotations ?? {} },
    image_ref: record.imageRef,
    image_id: record.imageId,
    reason: record.reason ?? '',
    message: record.message ?? '',
    labels: config.labels,
    annotations: config.annotations,
    mounts: config.mounts,
    log_path: record.logPath,
    resources: record.resources ? { linux: record.resources } : null,
    user: {
      linux: {
        uid: String(record.user.uid),
        gid: String(record.user.gid),
        supplemental_groups: record.user.additionalGids.map(String),
      },
    },
    stop_signal: signalEnum(record.stopSignal),
  };
}

function verboseInfo(ctx: DaemonContext, record: ContainerRecord): Record<string, unknown> {
  return {
    pid: record.pid,
    monitorPid: record.monitorPid,
    sandboxID: record.podId,
    runtimeHandler: record.runtimeHandler,
    bundle: record.bundleDir,
    cgroupsPath: record.cgroupsPath,
    spec: `${record.bundleDir}/config.json`,
    logPath: record.logPath,
    config: record.config,
    runtimeRoot: ctx.config.runtimes[record.runtimeHandler]?.root ?? '',
  };
}

/** A signal name (SIGTERM, SIGRTMIN+3) as the CRI Signal enum value. */
function signalEnum(name: string): Signal {
  const normalized = name
    .replace(/^SIGRTMIN\+(\d+)$/, 'SIGRTMINPLUS$1')
    .replace(/^SIGRTMAX-(\d+)$/, 'SIGRTMAXMINUS$1');
  return (/^SIG[A-Z0-9]+$/.test(normalized) ? `SIGNAL_${normalized}` : 'SIGNAL_RUNTIME_DEFAULT') as Signal;
}
