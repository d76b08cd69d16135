/**
 * Tools that live outside npm (Chromium from Debian; Compose v2, kustomize, hadolint, kubernetes-validate cached
 * under .tools/deploy by `scripts/deploy-tools.sh`). A developer machine without them skips the tests that need them, with a message
 * naming the tool; CI sets REQUIRE_ALL_TOOLS=1, where a missing tool fails instead, so a skip never hides there.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DEPLOY_TOOLS = path.join(ROOT, '.tools', 'deploy');

/**
 * `test` when the tool is there; otherwise a visibly skipped test, or a failing one under REQUIRE_ALL_TOOLS=1.
 * `install` says how to get it.
 */
export function testWithTool(tool: string, location: string, install = 'run scripts/deploy-tools.sh'): jest.It {
  if (existsSync(location)) return test;
  const message = `${tool} is missing (${location}): ${install}`;
  if (process.env.REQUIRE_ALL_TOOLS === '1') {
    return ((name: string) =>
      test(name, () => {
        throw new Error(`${message}; REQUIRE_ALL_TOOLS=1 does not allow skipping`);
      })) as unknown as jest.It;
  }
  console.warn(`SKIPPED: ${message}`);
  // A deliberate, reported skip of tests whose tool is missing here; REQUIRE_ALL_TOOLS=1 (CI) turns it into a failure.
  // eslint-disable-next-line no-restricted-properties
  return test.skip;
}
