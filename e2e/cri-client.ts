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

/**
 * Every server-streaming method of a service definition as `(request) => stream of responses`
 * (the types cannot tell streaming methods apart; only those exist at run time).
 */
export type StreamingClient<D> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer _Res, infer _ReqOut, infer ResOut>
    ? (request: Req, options?: CallOptions) => grpc.ClientReadableStream<ResOut>
    : never;
};

/** A CRI client over a unix socket, typed from the same proto the daemon serves. */
export interface CriClient {
  runtime: PromiseClient<RuntimeServiceDefinition>;
  image: PromiseClient<ImageServiceDefinition>;
  /** The server-streaming methods (StreamContainers, StreamImages...). */
  runtimeStreams: StreamingClient<RuntimeServiceDefinition>;
  imageStreams: StreamingClient<ImageServiceDefinition>;
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
    runtimeStreams: streamingClient(
      channel,
      api.RuntimeService.service,
    ) as StreamingClient<RuntimeServiceDefinition>,
    imageStreams: streamingClient(
      channel,
      api.ImageService.service,
    ) as StreamingClient<ImageServiceDefinition>,
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

/** Wraps each server-streaming method of `definition` as a function returning the call's stream. */
export function streamingClient(
  channel: grpc.Client,
  definition: grpc.ServiceDefinition,
): Record<string, unknown> {
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream || !method.responseStream) continue;
    methods[name] = (request: unknown, options: CallOptions = {}) =>
      channel.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + (options.timeoutMs ?? 30_000)) },
      );
  }
  return methods;
}

/** Every message of a server stream, once it ends; rejects with the call's error status. */
export async function readStream<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  const messages: T[] = [];
  for await (const message of stream) messages.push(message as T);
  return messages;
}
