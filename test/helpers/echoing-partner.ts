import { createServer } from 'node:http';
import { freePort } from './free-port';

/** One request the partner received, as it arrived. */
export interface ReceivedCall {
  method: string;
  url: string;
  body: string;
}

export interface EchoingPartner {
  port: number;
  received: ReceivedCall[];
  stop(): Promise<void>;
}

/**
 * A third-party endpoint on 127.0.0.1 for http.request tests. It answers the status its path
 * names (`/answer/400/...`, else 500) and echoes what it got, the subject included, in a header
 * and its body: what a careless partner does.
 */
export async function startEchoingPartner(): Promise<EchoingPartner> {
  const received: ReceivedCall[] = [];
  const port = await freePort();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = {
        method: req.method ?? '',
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(call);
      const echoed = decodeURIComponent(call.url);
      res.writeHead(Number(/^\/answer\/(\d{3})\//.exec(call.url)?.[1] ?? 500), {
        'content-type': 'application/json',
        'x-echo': echoed,
      });
      res.end(JSON.stringify({ error: `no account at ${echoed}`, received: call.body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    received,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
