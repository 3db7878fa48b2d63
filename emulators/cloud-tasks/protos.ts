import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { protobuf } from 'google-gax';

/**
 * The google.cloud.tasks.v2 protos as shipped inside @google-cloud/tasks, with google-gax's
 * common protos on the include path, so the emulator serves exactly what the client speaks.
 */
const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
} as const;

/** The loader's conversion options, reused by the REST surface so both give the same objects. */
export const OBJECT_OPTIONS = { longs: String, enums: String, defaults: false } as const;

function packageRoot(entry: string, name: string): string {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name
    ) {
      return dir;
    }
  }
  throw new Error(`cannot find the root of ${name}`);
}

const tasksProtos = (): string =>
  join(
    packageRoot(require.resolve('@google-cloud/tasks'), '@google-cloud/tasks'),
    'build',
    'protos',
  );
const gaxProtos = (): string =>
  join(packageRoot(require.resolve('google-gax'), 'google-gax'), 'build', 'protos');

/** For the gRPC server. */
export function loadCloudTasksPackage(): PackageDefinition {
  return loadSync('google/cloud/tasks/v2/cloudtasks.proto', {
    ...LOADER_OPTIONS,
    includeDirs: [tasksProtos(), gaxProtos()],
  });
}

/** For the REST surface: protobufjs types, to convert proto3 JSON with the serializer. */
export function loadCloudTasksRoot(): protobuf.Root {
  const json = JSON.parse(
    readFileSync(join(tasksProtos(), 'protos.json'), 'utf8'),
  ) as protobuf.INamespace;
  return protobuf.Root.fromJSON(json);
}

/** google.rpc.Status and the error detail messages, from google-gax's copy (what the client decodes with). */
export function loadRpcStatusRoot(): protobuf.Root {
  const json = JSON.parse(
    readFileSync(join(gaxProtos(), 'status.json'), 'utf8'),
  ) as protobuf.INamespace;
  return protobuf.Root.fromJSON(json);
}
