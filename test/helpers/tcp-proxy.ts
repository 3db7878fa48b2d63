import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut and restore, to take a server "down" for the
 * clients behind it without stopping the server itself (an emulator's in-memory state survives).
 * Cut, it behaves as a stopped server: open connections are dropped and new ones refused.
 */
export interface TcpProxy {
  /** `127.0.0.1:PORT`, for the clients. */
  host: string;
  port: number;
  /** `host:port` the connections go to; may be set after the proxy starts. */
  target: string | undefined;
  readonly up: boolean;
  /** Drops every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target?: string): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const onConnection = (client: Socket) => {
    const to = proxy.target;
    if (to === undefined) {
      client.destroy();
      return;
    }
    const i = to.lastIndexOf(':');
    const upstream = connect(Number(to.slice(i + 1)), to.slice(0, i));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = async () => {
    const s = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    port = address.port;
    server = s;
  };

  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  const proxy: TcpProxy = {
    host: `127.0.0.1:${port}`,
    port,
    target,
    get up() {
      return server !== undefined;
    },
    cut: stop,
    restore: async () => {
      if (server === undefined) await listen();
    },
    close: stop,
  };
  return proxy;
}
