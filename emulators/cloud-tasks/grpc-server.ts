import { grpc } from 'google-gax';
import { ApiError, Code } from './errors';
import { loadCloudTasksPackage } from './protos';
import type { CloudTasksService } from './service';
import { grpcStatusDetails } from './status-details';

type Handler = (request: never) => unknown;

/** Serves the service over gRPC, on 127.0.0.1, without TLS (the client uses insecure creds). */
export async function startGrpcServer(
  service: CloudTasksService,
  port: number,
): Promise<{ server: grpc.Server; port: number }> {
  const definition = loadCloudTasksPackage();
  const serviceDefinition = definition[
    'google.cloud.tasks.v2.CloudTasks'
  ] as grpc.ServiceDefinition;
  const methods: Record<string, Handler> = {
    ListQueues: (r) => service.listQueues(r),
    GetQueue: (r) => service.getQueue(r),
    CreateQueue: (r) => service.createQueue(r),
    UpdateQueue: (r) => service.updateQueue(r),
    DeleteQueue: (r) => service.deleteQueue(r),
    PurgeQueue: (r) => service.purgeQueue(r),
    PauseQueue: (r) => service.pauseQueue(r),
    ResumeQueue: (r) => service.resumeQueue(r),
    ListTasks: (r) => service.listTasks(r),
    GetTask: (r) => service.getTask(r),
    CreateTask: (r) => service.createTask(r),
    DeleteTask: (r) => service.deleteTask(r),
    RunTask: (r) => service.runTask(r),
  };
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(serviceDefinition)) {
    const handler = methods[method] ?? (() => service.unimplemented(method));
    const unary: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      try {
        callback(null, handler(call.request as never));
      } catch (err) {
        callback(toServiceError(err));
      }
    };
    implementation[method] = unary;
  }
  const server = new grpc.Server();
  server.addService(serviceDefinition, implementation);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return { server, port: bound };
}

function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  if (err instanceof ApiError) {
    const error: Partial<grpc.ServiceError> = {
      code: Code[err.code],
      details: err.message,
      message: err.message,
    };
    const statusDetails = grpcStatusDetails(err);
    if (statusDetails !== undefined) {
      error.metadata = new grpc.Metadata();
      error.metadata.set('grpc-status-details-bin', statusDetails);
    }
    return error;
  }
  return { code: Code.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
