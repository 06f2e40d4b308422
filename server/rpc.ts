import * as grpc from '@grpc/grpc-js';
import { CancelledError, isClientError, toGrpcStatus, UnimplementedError } from '../common/errors';
import type { Logger } from './logger';
import type { CallObserver } from './metrics-server';

/** What a handler learns about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** `Service/Method`, for log lines. */
  method: string;
}

export type UnaryImpl<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
/**
 * A server-streaming implementation. `send` resolves once the message is handed to the transport,
 * so a slow client holds back the producer (see writerFor); it rejects with CANCELLED once the
 * client cancels the call.
 */
export type StreamImpl<Req, Res> = (
  request: Req,
  send: (response: Res) => Promise<void>,
  ctx: CallContext,
) => Promise<void>;

/**
 * The implementations of a generated `...ServiceHandlers` interface, as plain async functions.
 * A method left out answers UNIMPLEMENTED until its feature lands.
 */
export type ServiceImpl<H> = {
  // `as` drops the index signature grpc-js puts on every generated handlers interface.
  [K in keyof H as string extends K ? never : K]?: H[K] extends grpc.handleUnaryCall<infer Req, infer Res>
    ? UnaryImpl<Req, Res>
    : H[K] extends grpc.handleServerStreamingCall<infer Req, infer Res>
      ? StreamImpl<Req, Res>
      : never;
};

/**
 * Turns plain async implementations into a grpc-js service implementation for every method of
 * `definition`. This is the one place where calls are logged (debug: method, duration, status;
 * warn/error with the cause on failure) and where thrown errors become gRPC statuses: grpc-js
 * ignores a rejected promise, so no handler may be called any other way.
 */
export function bindService(
  serviceName: string,
  definition: grpc.ServiceDefinition,
  impl: Record<string, unknown>,
  logger: Logger,
  observer?: CallObserver,
): grpc.UntypedServiceImplementation {
  const bound: grpc.UntypedServiceImplementation = {};
  for (const [methodName, method] of Object.entries(definition)) {
    const fullName = `${serviceName}/${methodName}`;
    const fn = impl[methodName] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    const run =
      fn ??
      (() => {
        throw new UnimplementedError(`${fullName} is not implemented by berth yet`);
      });
    if (method.requestStream) {
      // CRI has no client-streaming methods; refuse rather than guess.
      bound[methodName] = (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        call.destroy(new Error(`${fullName}: client streaming is not supported`));
    } else if (method.responseStream) {
      bound[methodName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const ctx = contextFor(call, fullName);
        void observe(logger, fullName, observer, async () => {
          await run(call.request, writerFor(call, ctx.signal), ctx);
        }).then(
          () => call.end(),
          (status: grpc.StatusObject) => call.emit('error', status),
        );
      };
    } else {
      bound[methodName] = (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const ctx = contextFor(call, fullName);
        void observe(logger, fullName, observer, () => run(call.request, ctx)).then(
          (response) => callback(null, response),
          (status: grpc.StatusObject) => callback(status),
        );
      };
    }
  }
  return bound;
}

function contextFor(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  method: string,
): CallContext {
  const controller = new AbortController();
  call.once('cancelled', () => controller.abort(new CancelledError(`${method}: cancelled by the client`)));
  return { signal: controller.signal, method };
}

/**
 * The `send` of a streaming call: resolves once grpc-js has handed the message to the HTTP/2
 * stream (write's callback), so one message at a time is in flight and a client that reads slowly
 * (or whose flow-control window is full) holds back the producer instead of growing the daemon's
 * memory. grpc-js's own write() return value only turns false after 16 queued messages, whatever
 * their size. Rejects with CANCELLED once the client cancels.
 */
function writerFor(
  call: grpc.ServerWritableStream<unknown, unknown>,
  signal: AbortSignal,
): (response: unknown) => Promise<void> {
  return (response) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      call.write(response, (err?: Error | null) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      });
    });
}

/**
 * Runs one call, logs its outcome, tells the observer (metrics) of it, and rejects with a gRPC
 * status object on failure.
 */
async function observe<T>(
  logger: Logger,
  method: string,
  observer: CallObserver | undefined,
  body: () => Promise<T> | T,
): Promise<T> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  const shortName = method.slice(method.lastIndexOf('/') + 1);
  try {
    const result = await body();
    const ms = elapsed();
    logger.debug('rpc', { method, duration_ms: round(ms), status: 'OK' });
    observer?.(shortName, 'OK', ms / 1000);
    return result;
  } catch (err) {
    const { code, details } = toGrpcStatus(err);
    const ms = elapsed();
    observer?.(shortName, grpc.status[code], ms / 1000);
    const fields = { method, duration_ms: round(ms), status: grpc.status[code], error: details };
    if (isClientError(code)) {
      logger.warn('rpc failed', fields);
    } else {
      logger.error('rpc failed', { ...fields, cause: causeChain(err) });
    }
    throw { code, details, metadata: new grpc.Metadata() } satisfies grpc.StatusObject;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The error's stack and its causes, so an internal failure can be traced from one log line. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}
