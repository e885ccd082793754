import { hasSeveralStatements } from '../harness/several-statements';

describe('hasSeveralStatements (the ClickHouse HTTP harness)', () => {
  it('finds a second statement after a semicolon', () => {
    expect(hasSeveralStatements('SET a = 1; SELECT 1')).toBe(true);
    expect(hasSeveralStatements('CREATE TABLE t (a UInt8) ENGINE = Memory;\nINSERT INTO t VALUES (1)')).toBe(true);
  });

  it('allows one statement with a trailing semicolon, comments or blanks after it', () => {
    expect(hasSeveralStatements('SELECT 1;')).toBe(false);
    expect(hasSeveralStatements('SELECT 1 ; ;\n -- done\n /* really */ ')).toBe(false);
  });

  it('ignores semicolons in literals, quoted identifiers and comments', () => {
    expect(hasSeveralStatements("SELECT 'a;b', 'it\\'s; fine', 'x'';y' AS `c;d`, \"e;f\" -- g; h\n FROM t /* ; SELECT 2 */")).toBe(false);
  });

  it('stops at the inline data of INSERT … FORMAT', () => {
    expect(hasSeveralStatements('INSERT INTO t FORMAT CSV\n1,"a;b"\n2,x; y\n')).toBe(false);
  });
});
