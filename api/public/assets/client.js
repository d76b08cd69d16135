/**
 * What the storefront and the operator console share: the session token, calls to the gateway's HTTP API with its
 * problem+json errors, the order event stream, and small DOM helpers. Plain ES module, no dependencies.
 *
 * The token is kept in sessionStorage: it lives as long as the tab, is never sent by the browser on its own (no
 * cookie, so no cross-site request can use it), and the page's Content-Security-Policy allows only these scripts.
 * It is sent as an Authorization header only, never in a URL: the event stream is read with fetch() and a streaming
 * body reader, because EventSource cannot send headers.
 */

const TOKEN_KEY = 'order-saga.token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A refused request: the gateway's problem+json document (or one made up for a response that had none). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function problemOf(response) {
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      return await response.json();
    } catch {
      // not JSON after all: described below
    }
  }
  return { status: response.status, title: response.statusText || 'Request failed', code: `HTTP_${response.status}` };
}

function headersFor(extra = {}, hasBody = false) {
  const headers = { accept: 'application/json', ...extra };
  if (hasBody) headers['content-type'] = 'application/json';
  const token = session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}

/** Calls the API; resolves to the parsed JSON body, rejects with an ApiError for any status other than 2xx. */
export async function api(method, path, { body, headers, signal } = {}) {
  const response = await fetch(path, {
    method,
    headers: headersFor(headers, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

/**
 * Reads a server-sent event stream with the session's token and calls `onEvent({ event, data, id })` for each
 * event; resolves when the server ends the stream. Comments (keep-alives) are skipped.
 */
export async function readEventStream(path, onEvent, signal) {
  const response = await fetch(path, {
    headers: headersFor({ accept: 'text/event-stream' }),
    cache: 'no-store',
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { event: 'message', data: [], id: undefined };
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = text;
        else if (field === 'data') event.data.push(text);
        else if (field === 'id') event.id = text;
      }
      if (event.data.length > 0) onEvent({ ...event, data: event.data.join('\n') });
    }
  }
}

/** Creates an element: `el('td', { class: 'number', dataset: { step: 'items' } }, 'text', child)`. Text only, no HTML. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((child) => child !== undefined && child !== null));
  return element;
}

export const $ = (selector) => document.querySelector(selector);

const money = new Intl.NumberFormat('ko-KR', { style: 'currency', currency: 'KRW' });
export const formatMoney = (amount) => money.format(amount);
export const formatTime = (iso) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });

/** Shows a message in the page's alert area: an ApiError as its problem (title, status, code, detail, fields). */
export function showMessage(error) {
  const box = $('#message');
  box.replaceChildren();
  box.hidden = false;
  if (typeof error === 'string') {
    box.className = 'info';
    box.append(error);
    return;
  }
  box.className = 'problem';
  if (!(error instanceof ApiError)) {
    box.append(el('strong', {}, 'The gateway could not be reached'), `: ${error?.message ?? error}`);
    return;
  }
  const { title, status, code, detail, errors } = error.problem;
  box.append(
    el('strong', {}, title ?? 'Request failed'),
    ' ',
    el('span', { class: 'code' }, `${status ?? error.status} ${code ?? ''}`.trim()),
    detail ? `: ${detail}` : '',
  );
  if (Array.isArray(errors) && errors.length > 0) {
    box.append(el('ul', {}, ...errors.map((entry) => el('li', {}, `${entry.path}: ${entry.message}`))));
  }
}

export function clearMessage() {
  const box = $('#message');
  box.hidden = true;
  box.replaceChildren();
}

/**
 * Wires the login form and the log-out button. `enter()` runs with a token (at once when the tab still has one);
 * `leave()` runs on log-out. A 401 anywhere should call `expired(error)`.
 */
export function setUpSession({ enter, leave }) {
  const loginSection = $('#login-section');
  const sessionBox = $('#session');
  const showLogin = () => {
    loginSection.hidden = false;
    sessionBox.hidden = true;
  };
  const loggedIn = async () => {
    loginSection.hidden = true;
    const me = await api('GET', '/users/me');
    $('#who').textContent = `${me.name} (${me.email}, ${me.role.toLowerCase()})`;
    sessionBox.hidden = false;
    await enter(me);
  };
  const start = async () => {
    try {
      await loggedIn();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) expired(error);
      else showMessage(error);
    }
  };
  const expired = (error) => {
    session.token = null;
    leave();
    showLogin();
    showMessage(error);
  };
  $('#login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    clearMessage();
    const form = new FormData(event.target);
    try {
      const { accessToken } = await api('POST', '/users/login', {
        body: { email: form.get('email'), password: form.get('password') },
      });
      session.token = accessToken;
      event.target.reset();
    } catch (error) {
      showMessage(error);
      return;
    }
    await start();
  });
  $('#logout').addEventListener('click', () => {
    session.token = null;
    clearMessage();
    leave();
    showLogin();
  });
  if (session.token) void start();
  else showLogin();
  return { expired };
}

/** A key for Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export const isTerminal = (status) => status === 'COMPLETED' || status === 'CANCELLED';
