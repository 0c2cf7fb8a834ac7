import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A config file that a test rewrites the way some real-world tool would. */
export interface UpdatableConfigFile {
  /** The path the gateway is given. */
  path: string;
  update(text: string): Promise<void>;
}

export interface ConfigUpdateStyle {
  name: string;
  /** Writes the first version of `fileName` in `dir`. */
  create(dir: string, text: string, fileName?: string): Promise<UpdatableConfigFile>;
}

/** `writeFile` on the same path: what `echo > config.yaml` and many editors do. */
export const inPlaceWrite: ConfigUpdateStyle = {
  name: 'an in-place write',
  async create(dir, text, fileName = 'config.yaml') {
    const path = join(dir, fileName);
    await writeFile(path, text);
    return { path, update: (next) => writeFile(path, next) };
  },
};

/** A temp file in the same directory renamed over the config: what vim, Helm and `sed -i` do. */
export const atomicRename: ConfigUpdateStyle = {
  name: 'an atomic rename',
  async create(dir, text, fileName = 'config.yaml') {
    const path = join(dir, fileName);
    await writeFile(path, text);
    let n = 0;
    return {
      path,
      update: async (next) => {
        const temp = join(dir, `.${fileName}.${process.pid}.${n++}.tmp`);
        await writeFile(temp, next);
        await rename(temp, path);
      },
    };
  },
};

/**
 * A Kubernetes ConfigMap volume, as kubelet lays it out and updates it:
 * `config.yaml -> ..data/config.yaml`, `..data -> ..2026_11_22_00_00_00.123`; an update writes a
 * new timestamped directory, points `..data_tmp` at it, renames `..data_tmp` over `..data`, and
 * removes the old directory.
 */
export const configMapSwap: ConfigUpdateStyle = {
  name: 'a Kubernetes ConfigMap swap',
  async create(dir, text, fileName = 'config.yaml') {
    let version = 0;
    let current = '';
    const writeVersion = async (content: string): Promise<string> => {
      const name = `..2026_11_22_00_00_${String(version).padStart(2, '0')}.${String(123 + version)}`;
      version++;
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, fileName), content);
      return name;
    };
    current = await writeVersion(text);
    await symlink(current, join(dir, '..data'));
    await symlink(join('..data', fileName), join(dir, fileName));
    return {
      path: join(dir, fileName),
      update: async (next) => {
        const previous = current;
        current = await writeVersion(next);
        await symlink(current, join(dir, '..data_tmp'));
        await rename(join(dir, '..data_tmp'), join(dir, '..data'));
        await rm(join(dir, previous), { recursive: true, force: true });
      },
    };
  },
};

export const CONFIG_UPDATE_STYLES: readonly ConfigUpdateStyle[] = [inPlaceWrite, atomicRename, configMapSwap];

/** A fresh temp directory; `remove()` deletes it and everything in it. */
export async function createTempDir(prefix = 'piapi-config-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

