/**
 * The repository stands alone: every relative link in the README and docs/ resolves, and every repository path
 * the docs name in code spans exists. Paths that only exist at run time or after a build (`.data/…`, `dist/…`)
 * and the files docs/extending.md tells the reader to create are the exceptions, listed here.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const FILE_LIKE = /^[\w.-]+(?:\/[\w.-]+)+\.(?:ts|js|mjs|json|ya?ml|md|sql|prisma|sh|toml|png)$/;

/** Paths a document may name that are not in the repository, with the reason. */
function exempt(document: string, target: string): boolean {
  if (target.startsWith('.data/')) return true; // created by npm start at run time
  if (target.startsWith('dist/')) return true; // written by npm run build
  if (document === 'docs/extending.md' && target.includes('shipping')) return true; // the worked example's new files
  return false;
}

function exists(document: string, target: string): boolean {
  return existsSync(path.join(ROOT, target)) || existsSync(path.join(ROOT, path.dirname(document), target));
}

function brokenReferences(document: string): string[] {
  const text = readFileSync(path.join(ROOT, document), 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^(?:https?:|mailto:|#)/.test(target))
    .map((target) => target.split('#')[0]!);
  const spans = [...text.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]!).filter((span) => FILE_LIKE.test(span));
  return [...new Set([...links, ...spans])].filter((target) => !exempt(document, target) && !exists(document, target));
}

test.each(DOCUMENTS)('every file %s refers to exists', (document) => {
  expect(brokenReferences(document)).toEqual([]);
});

test('the check sees the documents and would catch a missing file', () => {
  expect(DOCUMENTS).toEqual(expect.arrayContaining(['README.md', 'docs/domain.md', 'docs/extending.md']));
  expect(exists('README.md', 'docs/no-such-file.md')).toBe(false);
  expect(FILE_LIKE.test('workflows/place-order.ts')).toBe(true);
});
