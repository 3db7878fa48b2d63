import { Firestore } from '@google-cloud/firestore';
import { createFirestoreStore } from '../../../src/adapters/firestore/firestore-store';
import { RetryableError } from '../../../src/domain/errors';
import { emulatorHost, resetFirestore } from '../../helpers/firestore-emulator';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';
import { aRequest, anInstance } from './fixture';

describe('Firestore store: an unreachable Firestore', () => {
  let db: Firestore;
  let proxy: TcpProxy;
  const projectId = `unreachable-${process.pid}`;

  beforeAll(async () => {
    process.env['METADATA_SERVER_DETECTION'] ??= 'none';
    // The client reaches the emulator through a proxy that is cut: every connection is refused,
    // as when the emulator is stopped. The client reads FIRESTORE_EMULATOR_HOST when it is built.
    proxy = await startTcpProxy(emulatorHost());
    await proxy.cut();
    const real = process.env['FIRESTORE_EMULATOR_HOST'];
    process.env['FIRESTORE_EMULATOR_HOST'] = proxy.host;
    try {
      db = new Firestore({ projectId });
    } finally {
      process.env['FIRESTORE_EMULATOR_HOST'] = real;
    }
  });
  afterAll(async () => {
    // The client retries on its own for minutes; once the store is back its calls complete.
    await proxy.restore();
    await db.terminate();
    await proxy.close();
    await resetFirestore(emulatorHost(), projectId);
  });

  it.each([
    ['a read', 'getRequest'],
    ['a query', 'listTasks'],
    ['an atomic intake', 'createRequest'],
  ])(
    'fails %s with store.unavailable within its deadline, not minutes later',
    async (_name, method) => {
      const store = createFirestoreStore(db, { operationTimeoutMs: 1500 });
      const calls: Record<string, () => Promise<unknown>> = {
        getRequest: () => store.getRequest('r1'),
        listTasks: () => store.listTasks(),
        createRequest: () => store.createRequest(aRequest('r1'), [anInstance('r1', 't1')]),
      };
      const started = Date.now();
      const error = await calls[method]!().then(
        () => undefined,
        (err: unknown) => err,
      );
      const elapsed = Date.now() - started;

      expect(error).toBeInstanceOf(RetryableError);
      expect(error).toMatchObject({
        code: 'store.unavailable',
        retryAfterSeconds: 5,
        message: expect.stringContaining(`(${method}:`) as unknown,
      });
      expect(elapsed).toBeLessThan(4000);
    },
  );

  it('works again once the store is back; an intake cut off is all or nothing', async () => {
    const store = createFirestoreStore(db, { operationTimeoutMs: 1500 });
    await proxy.restore();
    // The client reconnects with its own backoff.
    await waitFor(
      () =>
        store.getRequest('r1').then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      { timeoutMs: 30_000, what: 'the store to answer again' },
    );
    const request = await store.getRequest('r1');
    const instances = await store.listInstances('r1');
    expect(request === null ? 0 : 1).toBe(instances.length);
  });
});
