/** The master dataset as a reader outside weir sees it: every row of every archived Arrow file, decoded by apache-arrow. */
import './arrow-zstd';
import { tableFromIPC } from 'apache-arrow';
import { createObjectStore, type ObjectStoreEnv } from '../../infra/object-store/object-store';
import { ARCHIVE_PREFIX } from '../../schemas/archive-layout';
import { ARCHIVE_COLUMNS, type ArchivedEvent } from '../../schemas/event';

export async function readArchive(objectStoreUrl: string, env: ObjectStoreEnv = {}): Promise<ArchivedEvent[]> {
  const store = createObjectStore(objectStoreUrl, env);
  const out: ArchivedEvent[] = [];
  for (const key of await store.list(ARCHIVE_PREFIX)) {
    const table = tableFromIPC((await store.get(key)) as Buffer);
    for (const row of table) {
      const r = row.toJSON() as Record<string, unknown>;
      const e: Record<string, unknown> = {};
      for (const c of ARCHIVE_COLUMNS) e[c.name] = c.kind === 'int64' || c.kind === 'int32' ? Number(r[c.name]) : String(r[c.name] ?? '');
      out.push(e as unknown as ArchivedEvent);
    }
  }
  return out;
}
