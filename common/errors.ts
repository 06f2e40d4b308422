import { status } from '@grpc/grpc-js';

/**
 * berth's error hierarchy. Every error a handler throws carries a stable string `code` (for logs
 * and tests) and the gRPC status the client sees; the RPC wrapper maps anything else to UNKNOWN.
 * Error classes live here, not in server/, because every manager (image, sandbox, oci) throws them.
 */
export class BerthError extends Error {
  readonly code: string = 'BERTH_ERROR';
  readonly grpcStatus: status = status.UNKNOWN;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends BerthError {
  override readonly code = 'INVALID_ARGUMENT';
  override readonly grpcStatus = status.INVALID_ARGUMENT;
}

export class NotFoundError extends BerthError {
  override readonly code = 'NOT_FOUND';
  override readonly grpcStatus = status.NOT_FOUND;
}

export class AlreadyExistsError extends BerthError {
  override readonly code = 'ALREADY_EXISTS';
  override readonly grpcStatus = status.ALREADY_EXISTS;
}

export class FailedPreconditionError extends BerthError {
  override readonly code = 'FAILED_PRECONDITION';
  override readonly grpcStatus = status.FAILED_PRECONDITION;
}

/** The client cancelled the call; what is left of its work is not done. */
export class CancelledError extends BerthError {
  override readonly code = 'CANCELLED';
  override readonly grpcStatus = status.CANCELLED;
}

export class DeadlineExceededError extends BerthError {
  override readonly code = 'DEADLINE_EXCEEDED';
  override readonly grpcStatus = status.DEADLINE_EXCEEDED;
}

export class ResourceExhaustedError extends BerthError {
  override readonly code = 'RESOURCE_EXHAUSTED';
  override readonly grpcStatus = status.RESOURCE_EXHAUSTED;
}

export class UnavailableError extends BerthError {
  override readonly code = 'UNAVAILABLE';
  override readonly grpcStatus = status.UNAVAILABLE;
}

export class UnimplementedError extends BerthError {
  override readonly code = 'UNIMPLEMENTED';
  override readonly grpcStatus = status.UNIMPLEMENTED;
}

export class InternalError extends BerthError {
  override readonly code = 'INTERNAL';
  override readonly grpcStatus = status.INTERNAL;
}

/** The gRPC status and message an error turns into on the wire. */
export function toGrpcStatus(err: unknown): { code: status; details: string } {
  if (err instanceof BerthError) return { code: err.grpcStatus, details: err.message };
  if (err instanceof Error) return { code: status.UNKNOWN, details: err.message };
  return { code: status.UNKNOWN, details: String(err) };
}

/** Whether an error status is the client's doing (logged at warn) rather than ours (error). */
export function isClientError(code: status): boolean {
  return (
    code === status.INVALID_ARGUMENT ||
    code === status.NOT_FOUND ||
    code === status.ALREADY_EXISTS ||
    code === status.FAILED_PRECONDITION ||
    code === status.UNIMPLEMENTED ||
    code === status.CANCELLED ||
    code === status.DEADLINE_EXCEEDED
  );
}
