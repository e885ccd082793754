/**
 * A gate of the ClickHouse HTTP harness: a further address of the same harness (one process
 * under test is pointed at it), through which a test can hold one request before it runs. The
 * test decides what happens meanwhile (SIGSTOP the client, let another one write), then
 * releases it: the statement runs then, late, exactly as the server would run a request that
 * reached it after a long network delay, and its client gets the answer.
 *
 * Only what the test arms is held: `hold` arms for ONE request, the first one matching its
 * rule to arrive through this gate from then on; every other request passes unchanged.
 */

/** Which request to hold. */
export interface HoldRule {
  /** Tested against the statement: the SQL of the request (`?query=` or the body), without the INSERT data after a query given in the URL. */
  sql: RegExp;
  /** Also tested, when set, against the start (64 KiB) of that INSERT data; a request without any does not match. */
  data?: RegExp;
}

/** What the held request's client was answered, once released. */
export interface HeldAnswer {
  status: number;
  /**
   * X-ClickHouse-Summary of a success. Its `written_rows` counts an INSERT with data only (the
   * rows of its target and of the views it feeds); the engine reports none for INSERT … SELECT.
   */
  summary?: Record<string, string>;
  /** The error text of a failure. */
  error?: string;
}

export interface HeldRequest {
  /** The statement held (see HoldRule.sql). */
  sql: string;
  /** Runs it now and answers its client; resolves with that answer once sent. */
  release(): Promise<HeldAnswer>;
}

export interface HarnessGate {
  /** Where to point the process whose requests may be held (its CLICKHOUSE_URL). */
  url: string;
  /** Arms the gate: resolves with the first request from now on that matches `rule`, held. One rule at a time. */
  hold(rule: HoldRule): Promise<HeldRequest>;
}

/** The statement and data of a request, as the gate sees them. */
export interface GatedRequest {
  sql: string;
  data?: Buffer;
}

const DATA_TESTED = 64 * 1024;

/** The gate's side in the harness: `admit` is awaited before a request through the gate runs. */
export function createRequestGate(): {
  hold: HarnessGate['hold'];
  /** Resolves at once (undefined) for a request not held; for the held one, at its release, with where to report its answer. */
  admit(r: GatedRequest): Promise<((a: HeldAnswer) => void) | undefined>;
} {
  let armed: { rule: HoldRule; notify(h: HeldRequest): void } | undefined;
  const matches = (rule: HoldRule, r: GatedRequest) =>
    rule.sql.test(r.sql) && (!rule.data || (r.data !== undefined && rule.data.test(r.data.subarray(0, DATA_TESTED).toString('utf8'))));
  return {
    hold: (rule) => {
      if (armed) return Promise.reject(new Error('the gate is already armed'));
      return new Promise((notify) => (armed = { rule, notify }));
    },
    admit: async (r) => {
      if (!armed || !matches(armed.rule, r)) return undefined;
      const { notify } = armed;
      armed = undefined;
      let released!: () => void;
      const release = new Promise<void>((resolve) => (released = resolve));
      let answered!: (a: HeldAnswer) => void;
      const answer = new Promise<HeldAnswer>((resolve) => (answered = resolve));
      notify({
        sql: r.sql,
        release: () => {
          released();
          return answer;
        },
      });
      await release;
      return answered;
    },
  };
}
