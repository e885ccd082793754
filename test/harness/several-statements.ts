/**
 * Whether SQL holds more than one statement. A ClickHouse server refuses that over HTTP
 * ("Multi-statements are not allowed", SYNTAX_ERROR) while chDB runs them all, so the harness
 * has to refuse it itself. A lexer just good enough to find a `;` outside string literals,
 * quoted identifiers and comments, followed by more than whitespace, comments or a lone `;`.
 * The inline data of `INSERT … FORMAT X` is not SQL: scanning stops there.
 */
export function hasSeveralStatements(sql: string): boolean {
  let ended = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i = closingQuote(sql, i, c);
    } else if (c === '-' && sql[i + 1] === '-') {
      i = lineEnd(sql, i);
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === ';') {
      ended = true;
    } else if (!/\s/.test(c)) {
      if (ended) return true;
      if ((c === 'F' || c === 'f') && /^FORMAT\s+\w+\s*\n/i.test(sql.slice(i, i + 64)) && /^\s*INSERT\b/i.test(sql)) return false;
    }
  }
  return false;
}

/** Index of the quote closing the one at `start` (backslash escapes and doubled quotes). */
function closingQuote(sql: string, start: number, q: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === '\\') i++;
    else if (sql[i] === q) {
      if (sql[i + 1] !== q) return i;
      i++;
    }
  }
  return sql.length;
}

function lineEnd(sql: string, start: number): number {
  const end = sql.indexOf('\n', start);
  return end < 0 ? sql.length : end;
}
