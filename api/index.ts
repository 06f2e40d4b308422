import * as path from 'node:path';
import type * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { packageRoot } from '../common/package-root';
import type { ProtoGrpcType } from './generated/api';
import type { ImageServiceDefinition } from './generated/runtime/v1/ImageService';
import type { RuntimeServiceDefinition } from './generated/runtime/v1/RuntimeService';

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

/**
 * A method as berth serves and calls it: proto-loader's definition (the generated types) without
 * the reflection descriptors (requestType, responseType, options). Only gRPC server reflection
 * reads those, berth does not offer it, and building them kept a descriptor object per message
 * and method resident in the daemon (3 MiB of heap per API package).
 */
export type CriMethodDefinition<M> = Omit<M, 'requestType' | 'responseType' | 'options'>;

/** A service's methods as CriMethodDefinitions. */
export type CriServiceDefinition<D> = { [K in keyof D]: CriMethodDefinition<D[K]> };

/** The two CRI services of one API package, shaped as grpc-js's loadPackageDefinition shapes them. */
export interface CriApi {
  RuntimeService: { service: CriServiceDefinition<RuntimeServiceDefinition> };
  ImageService: { service: CriServiceDefinition<ImageServiceDefinition> };
}

/** The package name of the CRI v1 API, as it appears in method paths (/runtime.v1.RuntimeService/...). */
export const V1_PACKAGE = 'runtime.v1';

let loaded: { runtime: { v1: CriApi } } | undefined;

/**
 * The CRI v1 services as grpc-js service definitions: `loadCri().runtime.v1.RuntimeService.service`
 * is what a server registers and what a client calls through. Each method (de)serializes exactly
 * as @grpc/proto-loader's would with CRI_LOADER_OPTIONS (protobufjs fromObject + encode,
 * decode + toObject), so the generated types describe the objects. Parsed once and cached; the
 * result is never mutated.
 */
export function loadCri(): { runtime: { v1: CriApi } } {
  if (!loaded) {
    const root = new protobuf.Root().loadSync(criProtoPath(), { keepCase: CRI_LOADER_OPTIONS.keepCase });
    root.resolveAll();
    const service = (name: string) =>
      serviceDefinition(root.lookupService(`${V1_PACKAGE}.${name}`), V1_PACKAGE);
    loaded = {
      runtime: {
        v1: {
          RuntimeService: { service: service('RuntimeService') as CriApi['RuntimeService']['service'] },
          ImageService: { service: service('ImageService') as CriApi['ImageService']['service'] },
        },
      },
    };
  }
  return loaded;
}

/** One untyped method definition, as serviceDefinition builds them. */
type UntypedMethod = CriMethodDefinition<protoLoader.MethodDefinition<object, object>>;

/** grpc-js method definitions for every method of `service`, at paths under `pkg`. */
function serviceDefinition(service: protobuf.Service, pkg: string): Record<string, UntypedMethod> {
  const definition: Record<string, UntypedMethod> = {};
  for (const method of service.methodsArray) {
    // resolveAll() above resolved every request and response type.
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${pkg}.${service.name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // grpc-js looks an implementation up by this name when the method's own name is missing.
      originalName: method.name[0].toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    // fromObject would make an empty message of an array; say what is wrong instead.
    if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${type.name}`);
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), CRI_LOADER_OPTIONS as protobuf.IConversionOptions);
}

/**
 * The same services under another package name, for APIs whose messages are v1's on the wire
 * (see v1alpha2.ts): the (de)serializers are shared, only the paths differ, and `omit` names
 * methods the other API does not have.
 */
export function renamedApi(api: CriApi, pkg: string, omit: Record<keyof CriApi, readonly string[]>): CriApi {
  const rename = <D extends object>(name: keyof CriApi, service: D): D => {
    const renamed: Record<string, UntypedMethod> = {};
    for (const [method, definition] of Object.entries(service) as [string, UntypedMethod][]) {
      if (omit[name].includes(method)) continue;
      renamed[method] = { ...definition, path: `/${pkg}.${name}/${method}` };
    }
    return renamed as D;
  };
  return {
    RuntimeService: { service: rename('RuntimeService', api.RuntimeService.service) },
    ImageService: { service: rename('ImageService', api.ImageService.service) },
  };
}
