import http from 'node:http';
import https from 'node:https';
import type { Clock } from './clock';

/** What came of one HTTP attempt: a status, or no answer in time, or no connection. */
export type AttemptOutcome =
  { kind: 'response'; status: number } | { kind: 'deadline' } | { kind: 'error'; message: string };

export interface OutgoingRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  deadlineMs: number;
}

/**
 * Sends task requests over keep-alive connections (a fresh connection per dispatch would cost
 * more than the dispatch itself). The deadline runs on the emulator's clock, so a ManualClock can
 * make it pass.
 */
export class HttpSender {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly inFlight = new Set<http.ClientRequest>();

  constructor(private readonly clock: Clock) {}

  send(request: OutgoingRequest): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      const url = new URL(request.url);
      const secure = url.protocol === 'https:';
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(request.method)) {
        headers['Content-Length'] = request.body.length;
      }
      let settled = false;
      const finish = (outcome: AttemptOutcome): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimer(timer);
        this.inFlight.delete(req);
        resolve(outcome);
      };
      const req = (secure ? https : http).request(url, {
        method: request.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      this.inFlight.add(req);
      const timer = this.clock.setTimer(() => {
        finish({ kind: 'deadline' });
        req.destroy();
      }, request.deadlineMs);
      req.on('response', (res) => {
        // Read the body to the end so the connection goes back to the pool.
        res.on('data', () => undefined);
        res.on('end', () => finish({ kind: 'response', status: res.statusCode ?? 0 }));
        res.on('error', (err) => finish({ kind: 'error', message: err.message }));
      });
      req.on('error', (err) => finish({ kind: 'error', message: err.message }));
      req.end(request.body);
    });
  }

  /** Aborts whatever is in flight and closes pooled connections. */
  close(): void {
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
