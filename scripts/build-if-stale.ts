/**
 * Runs before `npm start`: `npm start` runs the compiled processes (dist/), so dist/ must match the sources.
 * dist/workflow-bundle.js is written last by `npm run build`; when any source (the web assets of api/public/
 * included), the lockfile or a tsconfig is newer than it (or it is missing), this builds again.
 * A fresh dist/ costs one directory walk, not a compile.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const BUILT_LAST = path.join(ROOT, 'dist', 'workflow-bundle.js');
const SOURCE_FOLDERS = ['domain', 'workflows', 'activities', 'services', 'workers', 'api', 'lib', 'scripts', 'prisma'];
const BUILD_INPUTS = ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
/** The storefront and console: copied into dist/ as they are, so every file there counts, not only `.ts`. */
const WEB_ASSETS = path.join(ROOT, 'api', 'public') + path.sep;

function newestSourceChange(): number {
  let newest = Math.max(...BUILD_INPUTS.map((file) => statSync(path.join(ROOT, file)).mtimeMs));
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (entry.name.endsWith('.ts') || file.startsWith(WEB_ASSETS))
        newest = Math.max(newest, statSync(file).mtimeMs);
    }
  };
  for (const folder of SOURCE_FOLDERS) visit(path.join(ROOT, folder));
  return newest;
}

function main(): void {
  if (existsSync(BUILT_LAST) && statSync(BUILT_LAST).mtimeMs >= newestSourceChange()) return;
  console.log('dist/ is missing or older than the sources: npm run build');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(build.status ?? 1);
}

main();
