import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` puts the dashboard (vite, web/ → dist/dashboard), next to the compiled master. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * The dashboard's own files only: no inline script or style element, nothing from elsewhere, no
 * plugins, and never inside a frame (clickjacking: an approve button under someone else's page).
 * Styles set from script (element.style) are CSSOM and allowed; data: images for icons.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the built dashboard: a handful of hashed files, read once and kept in memory (they are
 * small and immutable for the life of the process). The dashboard routes in the browser (#/…),
 * so only `/` and the files themselves are served.
 */
export function registerDashboardRoutes(app: FastifyInstance, dir = DASHBOARD_DIR): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const path = request.url.split('?')[0] ?? '';
    if (path === '/' || path.startsWith('/assets/')) {
      void reply.header('content-security-policy', DASHBOARD_CSP).header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff');
    }
    done(null, payload);
  });
  const cache = new Map<string, Buffer>();
  const read = (relative: string): Buffer | undefined => {
    const path = normalize(join(dir, relative));
    if (!path.startsWith(normalize(dir) + (normalize(dir).endsWith(sep) ? '' : sep))) return undefined;
    let data = cache.get(path);
    if (data === undefined) {
      if (!existsSync(path) || !statSync(path).isFile()) return undefined;
      data = readFileSync(path);
      cache.set(path, data);
    }
    return data;
  };
  app.get('/', (_request, reply) => {
    const index = read('index.html');
    if (index === undefined)
      return reply.code(503).type('text/plain').send('the dashboard is not built: run `npm run build` (it builds web/ into dist/dashboard)');
    return reply.type(TYPES['.html']!).header('cache-control', 'no-cache').send(index);
  });
  // The icon (web/public/favicon.svg); /favicon.ico too, which browsers and tools ask for unprompted.
  const favicon = (_request: unknown, reply: FastifyReply): FastifyReply => {
    const icon = read('favicon.svg');
    if (icon === undefined) return reply.code(404).send({ code: 'E_NOT_FOUND', error: 'the dashboard is not built: run `npm run build`' });
    return reply.type(TYPES['.svg']!).header('cache-control', 'public, max-age=86400').send(icon);
  };
  app.get('/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);
  app.get('/assets/*', (request, reply) => {
    const relative = `assets/${(request.params as { '*': string })['*']}`;
    const data = read(relative);
    if (data === undefined) return reply.code(404).send({ code: 'E_NOT_FOUND', error: `no dashboard file ${relative}` });
    return reply
      .type(TYPES[extname(relative)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(data);
  });
}
