/**
 * Data directories for tests. chDB is embedded: after a handle is closed its engine can still
 * finish a background merge in this process and write into the directory being removed
 * (ENOTEMPTY). So removal here is best effort, and every directory lives under one scratch
 * root per run (set by the integration project's global setup) that global teardown deletes
 * once every test worker has exited.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SCRATCH_ENV = 'WEIR_TEST_SCRATCH_DIR';

export function makeScratchDir(label: string): string {
  const root = process.env[SCRATCH_ENV] ?? os.tmpdir();
  return fs.mkdtempSync(path.join(root, `${label}-`));
}

export function removeScratchDir(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    // Left for global teardown (see above); a test must not fail on its clean-up.
  }
}
