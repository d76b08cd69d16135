/**
 * Copies the storefront and operator console (`api/public/`, static files the TypeScript compiler does not emit)
 * to `dist/api/public/` for `npm run build`, so `node dist/api/server.js` and the image serve them. Runs before the
 * workflow bundle is written, which stays the build's last output (scripts/build-if-stale.ts relies on that).
 */
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const WEB_SOURCE = path.join(ROOT, 'api', 'public');
/** Where the compiled gateway (dist/api/web.js) looks for them: beside itself, as api/web.ts does in the sources. */
export const WEB_TARGET = path.join(ROOT, 'dist', 'api', 'public');

/** Replaces `target` with a copy of `source` (so a file deleted from the sources does not linger in the build). */
export function copyWebAssets(source: string, target: string): void {
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true });
}

if (require.main === module) {
  copyWebAssets(WEB_SOURCE, WEB_TARGET);
  console.log(`web assets: ${path.relative(process.cwd(), WEB_TARGET)}`);
}
