import path from 'node:path';

/** The repository (package) root: where `.cache/` keeps the provisioned jars. */
export const REPO_ROOT = path.resolve(__dirname, '..');
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');
