import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The repo's proto/ folder, from dist/src/inference (compiled) or src/inference. */
const PROTO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../proto/' : '../../proto/', import.meta.url));

export interface ServiceClientCtor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): grpc.Client;
  readonly service: grpc.ServiceDefinition;
}

export interface LoadedProtos {
  readonly coordinator: ServiceClientCtor;
  readonly health: ServiceClientCtor;
}

let loaded: LoadedProtos | null = null;

/**
 * The CoordinatorService and grpc.health.v1.Health definitions, loaded once from the .proto files
 * (field names kept as written, int64 as JS numbers, enums as their names).
 */
export function loadProtos(): LoadedProtos {
  if (loaded !== null) return loaded;
  const definition = protoLoader.loadSync(['titan/inference/v1/coordinator.proto', 'grpc/health/v1/health.proto'], {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_ROOT],
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    titan: { inference: { v1: { CoordinatorService: ServiceClientCtor } } };
    grpc: { health: { v1: { Health: ServiceClientCtor } } };
  };
  loaded = { coordinator: root.titan.inference.v1.CoordinatorService, health: root.grpc.health.v1.Health };
  return loaded;
}
