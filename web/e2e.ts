/**
 * Node-side helpers shared by the browser tests (test/web.test.ts) and the screenshot script
 * (web/screenshots.ts): build the lab, serve a folder on 127.0.0.1, launch Debian's Chromium.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { ISOLATION_HEADERS } from './isolation.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** Builds the web lab into `outDir` with the project's Vite config (quietly). */
export async function buildWeb(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/**
 * A static file server for `root` on 127.0.0.1 (a free port). Nothing outside `root` is served.
 * Every response carries ISOLATION_HEADERS unless `isolated` is false (a host that cannot set headers).
 */
export async function serveStatic(
  root: string, { isolated = true, headers = {} }: { isolated?: boolean; headers?: Record<string, string> } = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const base = resolve(root);
  const extra = { ...(isolated ? ISOLATION_HEADERS : {}), ...headers };
  const server: Server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    const file = join(base, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(base + sep)) {
      res.writeHead(403, extra).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...extra, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, extra).end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(() => ok())) };
}

/**
 * Headless Chromium with a fresh profile (`profileDir`, an empty folder: Playwright passes it as
 * --user-data-dir) and no background network traffic.
 */
export async function launchChromium(profileDir: string, viewport = { width: 1200, height: 900 }): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}
