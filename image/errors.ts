import { status } from '@grpc/grpc-js';
import { BerthError } from '../common/errors';

/**
 * Image errors whose gRPC status has no class in common/errors.ts. Everything else the image
 * module throws uses the shared classes (InvalidArgumentError for a bad reference, NotFoundError
 * for a missing manifest, UnavailableError for an unreachable registry, ...).
 */

/** The registry wants credentials we do not have, or rejected the ones we sent. */
export class UnauthenticatedError extends BerthError {
  override readonly code = 'UNAUTHENTICATED';
  override readonly grpcStatus = status.UNAUTHENTICATED;
}

/** The registry knows who we are and refuses the repository (HTTP 403). */
export class PermissionDeniedError extends BerthError {
  override readonly code = 'PERMISSION_DENIED';
  override readonly grpcStatus = status.PERMISSION_DENIED;
}

/** Content did not match its digest or size: corrupted or tampered with on the way. */
export class DigestMismatchError extends BerthError {
  override readonly code = 'DIGEST_MISMATCH';
  override readonly grpcStatus = status.DATA_LOSS;
}

/** A layer entry tried to create or write something outside its layer directory. */
export class UnsafeLayerError extends BerthError {
  override readonly code = 'UNSAFE_LAYER';
  override readonly grpcStatus = status.FAILED_PRECONDITION;
}
