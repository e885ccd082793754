/**
 * Installs the rules (attribution-rules.sql: SQL functions both layers call) in ClickHouse.
 * Replaced at every start by migrate(), so a process runs its own version of them; idempotent.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { splitStatements } from '../infra/clickhouse/sql-statements';

const RULES_FILE = path.join(__dirname, 'attribution-rules.sql');

export async function installRules(ch: ClickHouseClient): Promise<void> {
  for (const query of splitStatements(fs.readFileSync(RULES_FILE, 'utf8'))) await ch.command({ query });
}
