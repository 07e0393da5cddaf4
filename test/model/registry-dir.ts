/**
 * Where the real OMNA registry files are for tests: ../shared/omna-registry
 * from the repository root, or LWM2M_REGISTRY_DIR. When the folder is
 * missing, suites that need it fail in CI (it must be there) and are skipped
 * on a developer machine without it.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export function registryDir(): string {
  const fromEnv = process.env['LWM2M_REGISTRY_DIR'];
  return fromEnv ? path.resolve(fromEnv) : path.resolve(process.cwd(), '..', 'shared', 'omna-registry');
}

/** Returns the folder, or skips the calling suite (fails under CI) when it is missing. */
export function requireRegistryDir(context: Mocha.Context): string {
  const dir = registryDir();
  if (!existsSync(path.join(dir, 'version_history'))) {
    if (process.env['CI']) throw new Error(`OMNA registry folder not found at ${dir} (set LWM2M_REGISTRY_DIR)`);
    context.skip();
  }
  return dir;
}
