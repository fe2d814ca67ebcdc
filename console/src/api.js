// The console's JSON API (src/console/console.h). The session cookie is HttpOnly: scripts never
// see it. Every POST carries the session's CSRF token in X-CSRF-Token.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch('/console/api/' + path, init);
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const msg = data && data.error ? data.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return data;
}

export async function session() {
  const s = await call('GET', 'session');
  csrfToken = s.csrf_token;
  return s;
}

export async function login(accessKeyId, secret) {
  const s = await call('POST', 'login', { access_key_id: accessKeyId, secret_access_key: secret });
  csrfToken = s.csrf_token;
  return s;
}

export async function logout() {
  try {
    await call('POST', 'logout', {});
  } finally {
    csrfToken = null;
  }
}

const id = (s) => encodeURIComponent(s);

export const clusters = () => call('GET', 'clusters');
export const cluster = (name) => call('GET', `clusters/${id(name)}`);
export const activity = (name) => call('GET', `clusters/${id(name)}/activity`);
export const stopCluster = (name) => call('POST', `clusters/${id(name)}/stop`, {});
export const startCluster = (name) => call('POST', `clusters/${id(name)}/start`, {});
export const backtrack = (name, toIso) => call('POST', `clusters/${id(name)}/backtrack`, { to: toIso });
export const clone = (name, newId, atIso) =>
  call('POST', `clusters/${id(name)}/clone`, { new_id: newId, at: atIso });
export const createInstance = (name, instanceId, instanceClass) =>
  call('POST', `clusters/${id(name)}/instances`, {
    instance_id: instanceId,
    instance_class: instanceClass,
  });

// The past at a picked moment (issue 17): as-of query, diff against now, restore-table.
const q = (params) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
export const queryAsOf = (name, atIso, sql) => call('POST', `clusters/${id(name)}/query`, { at: atIso, sql });
export const diffSince = (name, atIso, table) => call('GET', `clusters/${id(name)}/diff?${q({ at: atIso, table })}`);
export const tablesAt = (name, atIso) => call('GET', `clusters/${id(name)}/tables?${q({ at: atIso })}`);
export const restoreTable = (name, { table, atIso, withRelated, dryRun }) =>
  call('POST', `clusters/${id(name)}/restore-table`, {
    table,
    at: atIso,
    with_related: withRelated,
    dry_run: dryRun,
  });
