import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (this file is test/deploy/support/repo-files.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

export function readRepoFile(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

export function isRepoFile(...parts: string[]): boolean {
  const path = repoPath(...parts);
  return existsSync(path) && statSync(path).isFile();
}

export function isRepoDirectory(...parts: string[]): boolean {
  const path = repoPath(...parts);
  return existsSync(path) && statSync(path).isDirectory();
}

/** Every YAML document of a file, failing on any YAML error (duplicate keys included). */
export function readYamlDocuments(...parts: string[]): unknown[] {
  const docs = parseAllDocuments(readRepoFile(...parts), { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${parts.join('/')}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return list.map((doc) => doc.toJS() as unknown).filter((value) => value !== null);
}

export function readYaml<T>(...parts: string[]): T {
  const docs = readYamlDocuments(...parts);
  if (docs.length !== 1) throw new Error(`${parts.join('/')}: expected one YAML document, found ${docs.length}`);
  return docs[0] as T;
}

/** `${VAR:-default}` → default, `${VAR}` → '' : how compose reads a path when VAR is unset. */
export function composeDefault(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? '');
}
