import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../common/package-root';
import type { ProtoGrpcType } from './generated/api';

export type { ProtoGrpcType };

/** Where the CRI proto lives, relative to the package root. */
const PROTO_IN_PACKAGE = path.join('api', 'runtime', 'v1', 'api.proto');

/**
 * The loader options of `npm run gen` (proto-loader-gen-types --keepCase --longs=String
 * --enums=String --defaults --oneofs). The generated types in ./generated describe objects loaded
 * with exactly these options, so they must not drift apart; index.test.ts compares them with the
 * script in package.json.
 */
export const CRI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Absolute path of the CRI proto, found from `fromDir` (see packageRoot). */
export function criProtoPath(fromDir: string = __dirname): string {
  return path.join(packageRoot(fromDir), PROTO_IN_PACKAGE);
}

let loaded: ProtoGrpcType | undefined;

/**
 * The CRI v1 package as grpc-js service definitions and client constructors, typed by the
 * generated ProtoGrpcType: `loadCri().runtime.v1.RuntimeService.service` is what a server
 * registers. Parsed once and cached; the result is never mutated.
 */
export function loadCri(): ProtoGrpcType {
  if (!loaded) {
    const definition = protoLoader.loadSync(criProtoPath(), CRI_LOADER_OPTIONS);
    // loadPackageDefinition returns an untyped GrpcObject; ProtoGrpcType is its generated shape.
    loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return loaded;
}
