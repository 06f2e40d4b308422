import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import { criProtoPath, loadCri, renamedApi, type CriApi } from './index';

/**
 * The older CRI API, `runtime.v1alpha2`, served beside v1 for kubelets 1.20 to 1.25.
 *
 * v1 began as a copy of v1alpha2 and only added to it, so the v1alpha2 surface is our one v1
 * proto under the other package name, less the methods v1 added. Field by field the messages
 * agree in name, number and type, with a single exception: KeyValue.value is `string` in
 * v1alpha2 and `bytes` in v1. Both are length-delimited on the wire, so a v1alpha2 client's
 * UTF-8 string arrives as the same bytes a v1 client sends, and handlers see one type (a
 * Buffer) from both APIs. KeyValue only travels in requests (ContainerConfig.envs), so berth
 * never has to send a v1alpha2 client bytes that are not valid UTF-8 (v1alpha2.test.ts checks
 * that no v1alpha2 response can reach a KeyValue).
 *
 * Since the messages are the same on the wire, the served v1alpha2 services are v1's definitions
 * at other paths: the proto is not parsed a second time (that cost the daemon 3 MiB).
 */
export const V1ALPHA2_PACKAGE = 'runtime.v1alpha2';

/** Methods that exist only in v1: a v1alpha2 client never calls them, and we don't offer them. */
export const METHODS_ADDED_IN_V1: Record<'RuntimeService' | 'ImageService', readonly string[]> = {
  RuntimeService: [
    'StreamPodSandboxes',
    'StreamContainers',
    'StreamContainerStats',
    'StreamPodSandboxStats',
    'CheckpointContainer',
    'CheckpointPod',
    'RestorePod',
    'GetContainerEvents',
    'ListMetricDescriptors',
    'ListPodSandboxMetrics',
    'StreamPodSandboxMetrics',
    'RuntimeConfig',
    'UpdatePodSandboxResources',
  ],
  ImageService: ['StreamImages'],
};

/** The v1alpha2 package; its message shapes are v1's, so v1's generated types describe it. */
export type CriV1alpha2 = CriApi;

let loaded: CriV1alpha2 | undefined;

/**
 * The v1alpha2 protobuf root: v1's proto under the v1alpha2 package, less the methods v1 added
 * (for tests and tools that look at the v1alpha2 schema or encode its messages directly).
 */
export function v1alpha2Root(): protobuf.Root {
  const text = fs.readFileSync(criProtoPath(), 'utf8');
  const renamed = text.replace(/^package runtime\.v1;$/m, `package ${V1ALPHA2_PACKAGE};`);
  if (renamed === text) throw new Error(`${criProtoPath()}: no "package runtime.v1;" line to rename`);
  const root = protobuf.parse(renamed, { keepCase: true }).root;
  for (const [service, methods] of Object.entries(METHODS_ADDED_IN_V1)) {
    const definition = root.lookupService(`${V1ALPHA2_PACKAGE}.${service}`);
    for (const method of methods) definition.remove(definition.methods[method]);
  }
  return root;
}

/** The v1alpha2 services: v1's, at /runtime.v1alpha2.<Service>/<Method>, less the methods v1 added. */
export function loadCriV1alpha2(): CriV1alpha2 {
  loaded ??= renamedApi(loadCri().runtime.v1, V1ALPHA2_PACKAGE, METHODS_ADDED_IN_V1);
  return loaded;
}
