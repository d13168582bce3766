// The dashboard's entry: the session (a login form when the admin has a token), a hash router
// (#/ the overview, #/service/<name> one service) and two live streams shared by every view: the
// figures (one frame per second) and the rollout events, both relayed across replicas by the server.
import { ApiError, login, logout, session } from './api.js';
import { ServicePage } from './service.js';
import { Overview, h } from './views.js';

const $ = (id) => document.getElementById(id);
let view = null;
let streams = [];
let lastFrame = null;

function notify(text, isError) {
  const n = $('notice');
  n.textContent = text;
  n.className = 'notice ' + (isError ? 'error' : 'ok');
}

function showLogin(message) {
  for (const s of streams) s.close();
  streams = [];
  $('view').replaceChildren();
  $('login').hidden = false;
  $('logout').hidden = true;
  $('login-error').textContent = message || '';
  $('login-token').focus();
}

function openStreams() {
  for (const s of streams) s.close();
  const figures = new EventSource('/v1/series');
  figures.addEventListener('figures', (m) => {
    lastFrame = JSON.parse(m.data);
    if (view && view.push) view.push(lastFrame);
    if (view && view.onFrame) view.onFrame(lastFrame);
  });
  figures.onopen = () => ($('conn').textContent = 'live');
  figures.onerror = () => {
    $('conn').textContent = 'reconnecting…';
    // A session that ended (logout elsewhere, restart) turns into the login form.
    session().then((s) => (s.loggedIn ? null : showLogin('Your session ended: log in again.')), () => null);
  };
  const events = new EventSource('/v1/events?replay=0');
  const onEvent = (m) => view && view.onEvent && view.onEvent(JSON.parse(m.data));
  for (const kind of ['started', 'canary-ready', 'step', 'analysis', 'paused', 'resumed', 'rolling-back', 'rolled-back',
    'aborted', 'promoting', 'succeeded', 'shifted', 'gate', 'warning', 'maintenance'])
    events.addEventListener(kind, onEvent);
  streams = [figures, events];
}

/** The service a `#/service/<name>` address names: null for another address, undefined when it cannot be read. */
function serviceInHash(hash) {
  const m = /^#\/service\/(.+)$/.exec(hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

async function route() {
  const root = $('view');
  const name = serviceInHash(location.hash);
  if (name === undefined) {
    // A broken %-escape (a hand-edited or cut address): say so, rather than keep showing the last service.
    view = null;
    root.replaceChildren(h('p', { text: 'No such page.' }), h('p', null, h('a', { href: '#/', text: '← All services' })));
    notify('Invalid service name in the address: ' + location.hash.slice('#/service/'.length) + ' is not a valid %-encoding', true);
  } else if (name !== null) {
    const page = new ServicePage(root, name, notify);
    view = page;
    try {
      await page.load();
    } catch (e) {
      notify(e.message, true);
    }
  } else {
    view = new Overview(root);
    if (lastFrame) view.push(lastFrame);
  }
  document.title = (name ? name + ' · ' : '') + 'veer dashboard';
}

async function start() {
  $('login').hidden = true;
  $('logout').hidden = (await session()).auth === 'none';
  openStreams();
  await route();
}

async function boot() {
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      await login($('login-token').value);
      $('login-token').value = '';
      await start();
    } catch (err) {
      $('login-error').textContent = err instanceof ApiError ? err.message : 'login failed: ' + err.message;
    }
  });
  $('logout').addEventListener('click', async () => {
    try {
      await logout();
    } finally {
      showLogin('Logged out.');
    }
  });
  window.addEventListener('hashchange', () => void route());
  try {
    const s = await session();
    if (s.loggedIn) await start();
    else showLogin('');
  } catch (e) {
    notify('The admin API does not answer: ' + e.message, true);
  }
}

void boot();
