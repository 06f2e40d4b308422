import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadCri } from '../api';
import { loadCriV1alpha2 } from '../api/v1alpha2';
import type { ImageServiceDefinition } from '../api/generated/runtime/v1/ImageService';
import type { RuntimeServiceDefinition } from '../api/generated/runtime/v1/RuntimeService';

export interface CallOptions {
  /** Milliseconds before the call fails with DEADLINE_EXCEEDED (default 30 s). */
  timeoutMs?: number;
}

/** Every unary method of a service definition as `(request) => Promise<response>`. */
export type PromiseClient<D> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer _Res, infer _ReqOut, infer ResOut>
    ? (request: Req, options?: CallOptions) => Promise<ResOut>
    : never;
};

/** A CRI client over a unix socket, typed from the same proto the daemon serves. */
export interface CriClient {
  runtime: PromiseClient<RuntimeServiceDefinition>;
  image: PromiseClient<ImageServiceDefinition>;
  close(): void;
}

/**
 * Connects to a CRI socket speaking `apiVersion`. A v1alpha2 client is generated from the same
 * proto under the v1alpha2 package; it lacks the methods v1 added.
 */
export function connectCri(socketPath: string, apiVersion: 'v1' | 'v1alpha2' = 'v1'): CriClient {
  const api = apiVersion === 'v1' ? loadCri().runtime.v1 : loadCriV1alpha2();
  const channel = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  return {
    runtime: promiseClient(channel, api.RuntimeService.service) as PromiseClient<RuntimeServiceDefinition>,
    image: promiseClient(channel, api.ImageService.service) as PromiseClient<ImageServiceDefinition>,
    close: () => channel.close(),
  };
}

/** Wraps each unary method of `definition` as a promise-returning function on `channel`. */
export function promiseClient(
  channel: grpc.Client,
  definition: grpc.ServiceDefinition,
): Record<string, unknown> {
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream || method.responseStream) continue;
    methods[name] = (request: unknown, options: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (options.timeoutMs ?? 30_000));
        channel.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new grpc.Metadata(),
          { deadline },
          (err, response) => (err ? reject(err) : resolve(response)),
        );
      });
  }
  return methods;
}
