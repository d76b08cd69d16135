/**
 * Development secrets: outside production, a secret that is not configured is generated once and kept in the
 * git-ignored data folder, so it survives restarts on a developer machine and no usable secret is ever committed.
 * Each sits in `$DATA_DIR/secrets` (mode 0700, files 0600), owned by this user and checked on every start: the data
 * folder itself may be shared or world-writable (a root-run container, /tmp), and a secret planted or read there
 * would let someone else sign tokens or read payloads.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error';

/** The folder of the development secrets inside the data folder: only its owner can open it. */
export const DEV_SECRET_FOLDER = 'secrets';

/**
 * Refuses a secret's folder or file that someone else owns, that group or others may read or write, or that is
 * a symbolic link. `instead` names the configuration that avoids the file (e.g. "set JWT_SECRET").
 */
export function checkPrivate(target: string, kind: 'folder' | 'file', instead: string): void {
  const stats = lstatSync(target);
  const isRightKind = kind === 'folder' ? stats.isDirectory() : stats.isFile();
  if (!isRightKind) throw new ConfigError(`${target} must be a ${kind} (not a link); remove it or ${instead}`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `${target} belongs to user ${stats.uid}, not to this process's user ${uid}; remove it or ${instead}`,
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8);
    throw new ConfigError(
      `${target} has mode ${mode}: group and others must have no access (chmod ${kind === 'folder' ? '700' : '600'} it) or ${instead}`,
    );
  }
}

export interface DevelopmentSecret {
  dataDir: string;
  /** File name inside the secrets folder. */
  file: string;
  /** Makes a new secret when there is none yet. */
  generate: () => string;
  /** The configuration that makes the file unnecessary, for error messages. */
  instead: string;
}

/**
 * The secret kept in `$DATA_DIR/secrets/<file>`, created on first use. Several processes may start at once (the
 * workers of `npm start` share the payload keys): the file is written under a temporary name and linked into
 * place, so a reader never sees half a secret and the first writer wins.
 */
export function developmentSecret({ dataDir, file: name, generate, instead }: DevelopmentSecret): string {
  const folder = path.join(dataDir, DEV_SECRET_FOLDER);
  const file = path.join(folder, name);
  mkdirSync(dataDir, { recursive: true });
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  checkPrivate(folder, 'folder', instead);
  if (!existsSync(file)) {
    const draft = path.join(folder, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
    // 'wx': never through a file (or link) that appeared meanwhile.
    writeFileSync(draft, generate(), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(draft);
    }
  }
  checkPrivate(file, 'file', instead);
  return readFileSync(file, 'utf8').trim();
}
