// The dashboard's only contact with the server: the public REST routes (Bearer read key)
// and the SSE stream (key in the query string, since EventSource cannot set headers).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** 401 (bad key) and 404 (key of another app, or no such app) will not heal by retrying. */
  get isAuth() {
    return this.status === 401 || this.status === 404;
  }
}

const TIMEOUT_MS = 15000;

export function createApi({ app, key }) {
  const base = `/v1/apps/${encodeURIComponent(app)}`;

  async function getJson(path, params = {}) {
    const qs = new URLSearchParams(params).toString();
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await fetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
        headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
        cache: 'no-store',
        signal: ctrl.signal,
      });
    } catch (err) {
      throw new ApiError(0, 'network', ctrl.signal.aborted ? 'the server did not answer in time' : 'the server is unreachable');
    } finally {
      clearTimeout(timer);
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const e = body && body.error ? body.error : {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || `HTTP ${res.status}`);
    }
    return body;
  }

  /**
   * Opens the live stream and keeps it open. EventSource reconnects by itself after a dropped
   * stream but gives up for good on a non-200 answer and never exposes the status, so on any
   * error we close it, ask the REST API with the same key what is wrong, and either report
   * a key problem (no retry) or reconnect with backoff.
   */
  function openStream({ onUpdate, onState }) {
    const url = `${base}/realtime/stream?key=${encodeURIComponent(key)}`;
    const STALE_MS = 5000; // updates come every second; 5 s of silence is worth showing
    const DEAD_MS = 30000; // a proxy may hold a dead connection open: reconnect ourselves
    let es = null;
    let retryMs = 1000;
    let retryTimer = 0;
    let lastData = 0;
    let openedAt = 0;
    let closed = false;
    let state = '';
    const setState = (s, detail) => {
      if (s === state && !detail) return;
      state = s;
      onState(s, detail);
    };

    const onData = (ev) => {
      lastData = Date.now();
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return; // a heartbeat or a non-JSON line: liveness only
      }
      retryMs = 1000;
      setState('live');
      onUpdate(data);
    };
    const onBeat = () => {
      lastData = Date.now();
    };

    function connect() {
      if (closed) return;
      setState(state === '' ? 'connecting' : 'reconnecting');
      es = new EventSource(url);
      openedAt = Date.now();
      lastData = 0;
      es.onmessage = onData;
      // The payload's event name is not fixed by the contract: accept the likely ones.
      for (const name of ['update', 'realtime', 'counters', 'live', 'snapshot']) es.addEventListener(name, onData);
      for (const name of ['heartbeat', 'ping']) es.addEventListener(name, onBeat);
      es.onerror = () => {
        if (closed) return;
        es.close();
        es = null;
        void recover();
      };
    }

    async function recover() {
      setState('reconnecting');
      try {
        await getJson('/realtime', { window: 60, step: 60 });
      } catch (err) {
        if (err instanceof ApiError && err.isAuth) {
          closed = true;
          setState('error', err);
          return;
        }
      }
      if (closed) return;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    }

    const watchdog = setInterval(() => {
      if (closed || !es) return;
      const since = Date.now() - (lastData || openedAt);
      if (since > DEAD_MS) {
        es.close();
        es = null;
        void recover();
      } else if (since > STALE_MS && state === 'live') {
        setState('stale');
      }
    }, 1000);

    connect();
    return {
      close() {
        closed = true;
        clearInterval(watchdog);
        clearTimeout(retryTimer);
        if (es) es.close();
      },
    };
  }

  return { getJson, openStream };
}
