/**
 * The dashboard at `/`: one HTML page plus its plain browser scripts and styles, and uPlot
 * from node_modules. No build step and no CDN, because the page must work on machines with
 * no internet access. Assets live under `/dashboard/` so they cannot shadow an API route.
 *
 * The page reads everything else from the public HTTP contract (REST + SSE, DESIGN §7) with
 * the read key the user types in; this router knows nothing about apps or keys.
 */
import path from 'node:path';
import express, { type Response } from 'express';

export const DASHBOARD_ASSET_PREFIX = '/dashboard';

const PUBLIC_DIR = path.join(__dirname, 'public');

// Resolved through the package, not a hard-coded node_modules path, so hoisting or a
// workspace layout does not break the page.
const VENDOR: Record<string, { file: string; type: string }> = {
  'uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

// Everything the page loads comes from this origin; connect-src 'self' covers fetch and
// EventSource. uPlot writes inline style attributes, hence 'unsafe-inline' for styles only.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function pageHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // The read key may sit in the URL on first load; do not leak it to other origins.
  res.setHeader('Referrer-Policy', 'no-referrer');
}

export function dashboardRouter(): express.Router {
  const router = express.Router();

  router.get('/', (_req, res, next) => {
    pageHeaders(res);
    // The page is tiny and changes with deployments: always revalidate.
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(PUBLIC_DIR, 'index.html'), (err) => err && next(err));
  });

  router.get(`${DASHBOARD_ASSET_PREFIX}/vendor/:name`, (req, res, next) => {
    const asset = Object.hasOwn(VENDOR, req.params.name) ? VENDOR[req.params.name] : undefined;
    if (!asset) return next(); // falls through to the app's JSON 404
    res.setHeader('Content-Type', asset.type);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Versioned by the pinned package; a day is safe and spares reloads on a kept-open tab.
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(asset.file, (err) => err && next(err));
  });

  router.use(
    DASHBOARD_ASSET_PREFIX,
    express.static(PUBLIC_DIR, {
      index: false,
      dotfiles: 'deny',
      fallthrough: true,
      setHeaders: (res) => {
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );

  return router;
}
