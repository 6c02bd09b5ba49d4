import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type LaunchOptions } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`, which .ci/run does), driven by playwright-core:
 * never a browser download. Headless, without the sandbox (the tests run as root inside a
 * loopback-only network namespace), and with everything that would call home turned off.
 */
export const CHROMIUM = process.env['BLOBSERVER_TEST_CHROMIUM'] || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or undefined; under CI a missing Chromium fails instead. */
export function chromiumUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `no Chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium`;
  if (process.env['CI'] && process.env['CI'] !== 'false' && process.env['CI'] !== '0') throw new Error(`CI: ${why}`);
  return why;
}

export interface TestBrowser {
  /** A fresh context (its own cookies, cache and HTTP auth). */
  context(options?: Parameters<import('playwright-core').Browser['newContext']>[0]): Promise<BrowserContext>;
  version(): string;
  close(): Promise<void>;
}

/** Chromium on a new, empty user-data dir (removed on close). */
export async function launchChromium(extra: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'blobserver-chromium-'));
  // A persistent context is how playwright gives Chromium its own user-data dir.
  const persistent = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, ...extra });
  const browser = persistent.browser();
  return {
    context: async (options) => {
      if (!browser) throw new Error('no browser handle from the persistent context');
      return browser.newContext(options);
    },
    version: () => browser?.version() ?? 'unknown',
    close: async () => {
      await persistent.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
