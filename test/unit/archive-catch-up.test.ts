/**
 * The batch run's wait for the archive (batch-layer/archive-catch-up.ts) against a file store
 * in a temp directory: positions compare only within one topic id.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForArchive } from '../../batch-layer/archive-catch-up';
import { createObjectStore, type ObjectStore } from '../../infra/object-store/object-store';
import { archiverStateKey } from '../../schemas/archive-layout';

let dir: string;
let store: ObjectStore;
const putState = (p: number, state: object) => store.put(archiverStateKey(p), Buffer.from(JSON.stringify(state)));

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'weir-catch-up-'));
  store = createObjectStore(`file://${dir}`);
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('waiting for the archive before a batch run', () => {
  it('is done when every partition was archived up to the watermarks of the same topic', async () => {
    await putState(0, { next: 40, topicId: 'topic-a' });
    await putState(1, { next: 7, topicId: 'topic-a' });
    await expect(waitForArchive(store, { '0': 40, '1': 5 }, { timeoutMs: 1000, topicId: 'topic-a' })).resolves.toBeUndefined();
  });

  it('refuses at once, naming both ids, when the positions were written for a recreated topic, though they lie past its watermarks', async () => {
    await putState(0, { next: 400, topicId: 'topic-old' });
    await putState(1, { next: 300, topicId: 'topic-old' });
    const started = Date.now();
    // The new topic's offsets start again at 0: by offsets alone the archive would look caught up.
    await expect(waitForArchive(store, { '0': 20, '1': 30 }, { timeoutMs: 60_000, topicId: 'topic-new' })).rejects.toThrow(
      /partitions 0, 1 were written for topic id topic-old, the events topic now has id topic-new \(recreated/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('accepts positions of archivers that stored no topic id, and times out naming a partition still behind', async () => {
    await putState(0, { next: 10 });
    await expect(waitForArchive(store, { '0': 12 }, { timeoutMs: 300, pollMs: 50, topicId: 'topic-a' })).rejects.toThrow(/partition 0 archived below offset 10, needs 12/);
  });
});
