import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`): no browser is downloaded. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** Where the console tests write their screenshots (git-ignored). */
export const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'console');

/** A running Chromium and the way to stop it for sure. */
export interface ChromiumHandle {
  browser: Browser;
  /** Closes the browser; if it has not exited within `graceMs`, kills its process. */
  stop(graceMs?: number): Promise<void>;
}

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts Chromium as a server this test owns (so its process can be killed if a close hangs
 * on a loaded machine) and connects to it.
 */
export async function launchChromium(): Promise<ChromiumHandle> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
  });
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    async stop(graceMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        browser
          .close()
          .then(() => server.close())
          .then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!closed) await server.kill();
    },
  };
}

/** A browser context acting as `identity` (the local stack's X-Dev-Identity). */
export function contextAs(
  browser: Browser,
  identity: string,
  viewport: { width: number; height: number } = VIEWPORTS.desktop,
): Promise<BrowserContext> {
  return browser.newContext({ viewport, extraHTTPHeaders: { 'X-Dev-Identity': identity } });
}
