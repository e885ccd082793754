// Where the app id and read key come from: the URL first (shareable link), else what this
// browser remembered. The key is removed from the address bar after reading it, so it does
// not linger in history, bookmarks or screen shares.

const STORE_APP = 'weir.dashboard.app';
const STORE_KEY = 'weir.dashboard.key';
export const APP_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled (privacy mode): the page still works for this visit
  }
}

export function readSettings() {
  const url = new URL(window.location.href);
  const st = storage();
  const app = url.searchParams.get('app') || st?.getItem(STORE_APP) || '';
  const key = url.searchParams.get('key') || st?.getItem(STORE_KEY) || '';
  if (url.searchParams.has('key')) {
    url.searchParams.delete('key');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return { app: app.trim(), key: key.trim() };
}

export function saveSettings({ app, key }) {
  const st = storage();
  st?.setItem(STORE_APP, app);
  st?.setItem(STORE_KEY, key);
  const url = new URL(window.location.href);
  url.searchParams.set('app', app);
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** A rejected key is forgotten so that a reload asks again instead of failing again. */
export function forgetKey() {
  storage()?.removeItem(STORE_KEY);
}
