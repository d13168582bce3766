// The admin API as the page uses it: same origin, the session cookie sent by the browser, and the
// session's CSRF token in a header on every state-changing call.
let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-veer-csrf'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = json && json.error ? json.error : { code: 'http_' + res.status, message: text || res.statusText };
    const detail = (e.problems || []).map((p) => (p.path ? p.path + ': ' : '') + p.message).join('; ');
    throw new ApiError(res.status, e.code, detail ? e.message + ' (' + detail + ')' : e.message);
  }
  return json;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);

export async function session() {
  const s = await get('/ui/session');
  csrf = s.csrf;
  return s;
}

export async function login(token) {
  const s = await call('POST', '/ui/login', { token });
  csrf = s.csrf;
  return s;
}

export async function logout() {
  await post('/ui/logout');
  csrf = null;
}

export const svc = (name) => '/v1/services/' + encodeURIComponent(name);
