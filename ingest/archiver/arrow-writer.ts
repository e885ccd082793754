/**
 * Archived events → one Arrow IPC file (the master dataset's format), with the schema
 * derived from `ARCHIVE_COLUMNS`. Low-cardinality strings are dictionary-encoded (~25 %
 * smaller). Uncompressed on purpose: apache-arrow 21.2.0 writes compressed IPC buffers
 * that ClickHouse cannot read (FIELD-NOTES).
 */
import { Dictionary, Int32, Table, Utf8, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { ARCHIVE_COLUMNS, type ArchivedEvent } from '../../schemas/event';

export function encodeArrowFile(rows: readonly ArchivedEvent[]): Uint8Array {
  const columns: Record<string, Vector> = {};
  for (const c of ARCHIVE_COLUMNS) {
    const name = c.name as keyof ArchivedEvent;
    switch (c.kind) {
      case 'int64': {
        const a = new BigInt64Array(rows.length);
        for (let i = 0; i < rows.length; i++) a[i] = BigInt(rows[i][name] as number);
        columns[c.name] = makeVector(a);
        break;
      }
      case 'int32':
        columns[c.name] = makeVector(Int32Array.from(rows, (r) => r[name] as number));
        break;
      case 'dict':
        columns[c.name] = vectorFromArray(rows.map((r) => r[name] as string), new Dictionary(new Utf8(), new Int32()));
        break;
      case 'string':
        columns[c.name] = vectorFromArray(rows.map((r) => r[name] as string), new Utf8());
        break;
    }
  }
  return tableToIPC(new Table(columns), 'file');
}
