import { status } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  BerthError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
  isClientError,
  toGrpcStatus,
} from './errors';

// One table of codes: the stable string code and the gRPC status of every error class.
const table: Array<[new (m: string) => BerthError, string, status]> = [
  [InvalidArgumentError, 'INVALID_ARGUMENT', status.INVALID_ARGUMENT],
  [NotFoundError, 'NOT_FOUND', status.NOT_FOUND],
  [AlreadyExistsError, 'ALREADY_EXISTS', status.ALREADY_EXISTS],
  [FailedPreconditionError, 'FAILED_PRECONDITION', status.FAILED_PRECONDITION],
  [CancelledError, 'CANCELLED', status.CANCELLED],
  [DeadlineExceededError, 'DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED],
  [ResourceExhaustedError, 'RESOURCE_EXHAUSTED', status.RESOURCE_EXHAUSTED],
  [UnavailableError, 'UNAVAILABLE', status.UNAVAILABLE],
  [UnimplementedError, 'UNIMPLEMENTED', status.UNIMPLEMENTED],
  [InternalError, 'INTERNAL', status.INTERNAL],
];

describe('error table', () => {
  test.each(table)('%p has its code and status', (Cls, code, grpcStatus) => {
    const err = new Cls('boom');
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(code);
    expect(err.name).toBe(Cls.name);
    expect(toGrpcStatus(err)).toEqual({ code: grpcStatus, details: 'boom' });
  });

  test('unknown errors become UNKNOWN with their message', () => {
    expect(toGrpcStatus(new TypeError('bad'))).toEqual({ code: status.UNKNOWN, details: 'bad' });
    expect(toGrpcStatus('plain')).toEqual({ code: status.UNKNOWN, details: 'plain' });
  });

  test('a cause is kept', () => {
    const cause = new Error('root');
    expect(new InternalError('wrapped', { cause }).cause).toBe(cause);
  });

  test('client errors are told apart from server errors', () => {
    expect(isClientError(status.NOT_FOUND)).toBe(true);
    expect(isClientError(status.INVALID_ARGUMENT)).toBe(true);
    expect(isClientError(status.INTERNAL)).toBe(false);
    expect(isClientError(status.UNKNOWN)).toBe(false);
  });
});
