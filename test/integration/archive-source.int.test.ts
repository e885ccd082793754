/**
 * A batch statement reads exactly its pinned archive files however many there are: the list
 * goes to ClickHouse as data, not in the URL, which a ClickHouse server refuses over 1 MiB
 * (run it on the server path with `npm run test:server`).
 */
import { takeArchiveSnapshot } from '../../batch-layer/archive-snapshot';
import { pinnedSource } from '../../batch-layer/jobs/archive-source';
import { queryRows } from '../../infra/clickhouse/client';
import { archiveKey, parseArchiveKey, type ArchiveFile } from '../../schemas/archive-layout';
import { appendToArchive, archived, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const DAY = '2026-05-04';
const D = Date.parse(`${DAY}T00:00:00Z`);

let env: BatchTestEnv;
beforeAll(async () => {
  env = await openBatchTestEnv();
});
afterAll(async () => env?.close());

it('reads only the pinned files of a day among 40 000 pinned names (over 2 MB of names)', async () => {
  await appendToArchive(env.store, [archived({ event_id: 'a', type: 'click', ts: D + 1000 }), archived({ event_id: 'b', type: 'install', ts: D + 2000 })]);
  const [pinned, ...rest] = (await takeArchiveSnapshot(env.store, [DAY])).files;
  expect(rest).toEqual([]);
  // Names of files that were compacted away since, say: pinned, but absent from the store.
  const gone: ArchiveFile[] = Array.from({ length: 40_000 }, (_, i) => parseArchiveKey(archiveKey(DAY, 1, 1_000_000 + i * 10, 1_000_000 + i * 10 + 9)) as ArchiveFile);
  const source = await pinnedSource(env.ch, env.store, [...gone, pinned]);
  const rows = await queryRows<{ event_id: string }>(env.ch, `SELECT event_id FROM ${source.sql} ORDER BY event_id`, source.params);
  expect(rows).toEqual([{ event_id: 'a' }, { event_id: 'b' }]);
});
