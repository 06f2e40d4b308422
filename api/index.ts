import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
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

/**
 * Absolute path of the CRI proto. tsc does not copy .proto files into dist/, so the file is
 * always read from the source tree: walk up from `fromDir` (this module's directory, whether in
 * api/ or dist/api/) to the directory holding package.json and the proto.
 */
export function criProtoPath(fromDir: string = __dirname): string {
  let dir = path.resolve(fromDir);
  for (;;) {
    const candidate = path.join(dir, PROTO_IN_PACKAGE);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PROTO_IN_PACKAGE} in any parent of ${fromDir}`);
    dir = parent;
  }
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
