/**
 * The storefront: a customer logs in, sees the items and her coupons, builds an order, gets a quote, places it
 * with a test card, watches its saga steps change live (pushed by the gateway's event stream) and may cancel it.
 * Every rule is the API's: a refusal is shown as the problem the gateway answered.
 */
import {
  $,
  ApiError,
  api,
  clearMessage,
  el,
  formatMoney,
  formatTime,
  isTerminal,
  randomKey,
  readEventStream,
  setUpSession,
  showMessage,
} from './client.js';

const STEPS = [
  ['items', 'Reserve stock'],
  ['coupons', 'Redeem coupons'],
  ['payment', 'Charge the card'],
];
/** After a dropped event stream: the first reconnect waits this long, doubling up to the maximum. */
const RECONNECT_MS = { first: 1_000, max: 10_000 };

let items = [];
let coupons = [];
/** The order being built: `{ item, quantity, couponIds }` per line. */
let cart = [];
/** The last quote of the cart, or null when the cart changed since: `{ key, lines: [{ unitPrice, discountedUnitPrice }], total }`. */
let quote = null;
/** The order on screen and the controller that stops watching it. */
let watched = null;

const { expired } = setUpSession({
  async enter() {
    $('#shop').hidden = false;
    await Promise.all([loadItems(), loadCoupons(), loadOrders()]);
    openFromLocation();
  },
  leave() {
    stopWatching();
    cart = [];
    quote = null;
    $('#shop').hidden = true;
    $('#order-section').hidden = true;
  },
});

/**
 * Runs a user action: clears the last message (unless told to keep it), shows a refusal as its problem (a 401
 * logs out).
 */
async function act(action, { keepMessage = false } = {}) {
  if (!keepMessage) clearMessage();
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) expired(error);
    else showMessage(error);
  }
}

async function loadItems() {
  ({ items } = await api('GET', '/items'));
  $('#items tbody').replaceChildren(
    ...items.map((item) =>
      el(
        'tr',
        { dataset: { itemId: item.id } },
        el('td', { class: 'item-name' }, item.name),
        el('td', {}, item.size),
        el('td', { class: 'number' }, formatMoney(item.price)),
        el('td', { class: 'number' }, String(item.stockQuantity)),
        el(
          'td',
          {},
          button('Add', () => addToCart(item), { class: 'add' }),
        ),
      ),
    ),
  );
}

function describeCoupon(coupon) {
  return coupon.type === 'FIXED' ? `${formatMoney(coupon.discountAmount)} off` : `${coupon.discountPercent}% off`;
}

async function loadCoupons() {
  ({ userCoupons: coupons } = await api('GET', '/coupons/mine'));
  $('#coupons').replaceChildren(
    ...(coupons.length === 0 ? [el('li', { class: 'muted' }, 'No coupons.')] : []),
    ...coupons.map((coupon) =>
      el(
        'li',
        { dataset: { userCouponId: coupon.id }, class: coupon.used ? 'used' : '' },
        el('strong', {}, coupon.name),
        ` · ${describeCoupon(coupon)} · until ${formatTime(coupon.validUntil)} · `,
        coupon.used ? `used by order ${coupon.usedByOrderId ?? ''}` : 'available',
      ),
    ),
  );
  renderCart();
}

function button(label, onClick, attributes = {}) {
  const element = el('button', { type: 'button', ...attributes }, label);
  element.addEventListener('click', () => act(onClick));
  return element;
}

function addToCart(item) {
  const line = cart.find((entry) => entry.item.id === item.id);
  if (line) line.quantity += 1;
  else cart.push({ item, quantity: 1, couponIds: [] });
  changed();
}

/** The cart changed: its quote no longer holds. */
function changed() {
  quote = null;
  renderCart();
}

function renderCart() {
  const available = coupons.filter((coupon) => !coupon.used);
  $('#cart-empty').hidden = cart.length > 0;
  $('#cart').hidden = cart.length === 0;
  $('#order-form').hidden = cart.length === 0;
  $('#cart tbody').replaceChildren(
    ...cart.map((line, index) => {
      const quantity = el('input', { type: 'number', min: 1, max: 10000, value: line.quantity, class: 'quantity' });
      quantity.addEventListener('change', () => {
        line.quantity = Math.max(1, Math.trunc(Number(quantity.value)) || 1);
        changed();
      });
      const couponChoices = available.map((coupon) => {
        const box = el('input', { type: 'checkbox', value: coupon.id, checked: line.couponIds.includes(coupon.id) });
        box.addEventListener('change', () => {
          line.couponIds = box.checked
            ? [...line.couponIds, coupon.id]
            : line.couponIds.filter((id) => id !== coupon.id);
          changed();
        });
        return el('label', { class: 'coupon-choice' }, box, ` ${coupon.name}`);
      });
      const quoted = quote?.lines[index];
      return el(
        'tr',
        { dataset: { itemId: line.item.id } },
        el('td', { class: 'item-name' }, line.item.name, el('span', { class: 'muted' }, ` ${line.item.size}`)),
        el('td', {}, quantity),
        el('td', {}, ...(couponChoices.length ? couponChoices : [el('span', { class: 'muted' }, 'none')])),
        el('td', { class: 'number' }, formatMoney(quoted?.unitPrice ?? line.item.price)),
        el('td', { class: 'number discounted' }, quoted ? formatMoney(quoted.discountedUnitPrice) : '–'),
        el(
          'td',
          {},
          button('Remove', () => {
            cart.splice(index, 1);
            changed();
          }),
        ),
      );
    }),
  );
  $('#total').textContent = quote ? formatMoney(quote.total) : '–';
  $('#place').disabled = !quote;
}

/** Prices every line by the coupon rules the saga applies (POST /coupons/quote), so the order can be placed. */
async function getQuote() {
  const lines = await Promise.all(
    cart.map((line) =>
      api('POST', '/coupons/quote', { body: { itemId: line.item.id, userCouponIds: line.couponIds } }).then(
        (answer) => ({ unitPrice: answer.price, discountedUnitPrice: answer.discountedPrice }),
      ),
    ),
  );
  const total = lines.reduce((sum, line, index) => sum + line.discountedUnitPrice * cart[index].quantity, 0);
  // One key per quote: pressing "Place order" twice places one order.
  quote = { key: randomKey(), lines, total };
  renderCart();
}

async function placeOrder() {
  if (!quote) return;
  const body = {
    lines: cart.map((line, index) => ({
      itemId: line.item.id,
      quantity: line.quantity,
      unitPrice: quote.lines[index].unitPrice,
      discountedUnitPrice: quote.lines[index].discountedUnitPrice,
      userCouponIds: line.couponIds,
    })),
    payment: { token: $('#card').value },
  };
  const placed = await api('POST', '/orders', { body, headers: { 'idempotency-key': quote.key } });
  cart = [];
  quote = null;
  renderCart();
  showMessage(`Order ${placed.orderId} placed: its saga runs now.`);
  openOrder(placed.orderId);
  await loadOrders();
}

async function loadOrders() {
  const { orders } = await api('GET', '/orders');
  $('#orders tbody').replaceChildren(
    ...orders.map((order) =>
      el(
        'tr',
        { dataset: { orderId: order.orderId } },
        el('td', {}, el('a', { href: `#order/${order.orderId}` }, order.orderId.slice(0, 8))),
        el('td', {}, formatTime(order.createdAt)),
        el('td', {}, el('span', { class: `status status-${order.status}` }, order.status)),
        el('td', { class: 'number' }, formatMoney(order.totalPrice)),
        el('td', {}, order.failureReason ?? ''),
      ),
    ),
  );
}

/** Shows the order named in the address (`#order/<id>`), if any. */
function openFromLocation() {
  const match = /^#order\/([\w-]+)$/.exec(location.hash);
  if (match && match[1] !== watched?.orderId) watch(match[1]);
}

function openOrder(orderId) {
  if (location.hash !== `#order/${orderId}`) history.pushState(null, '', `#order/${orderId}`);
  watch(orderId);
}

function stopWatching() {
  watched?.controller.abort();
  watched = null;
}

/**
 * Follows the order's event stream (GET /orders/:id/events): each `order` event redraws it. The stream ends when
 * the order has ended; one that drops before is opened again, after 1 s, then up to every 10 s.
 */
async function watch(orderId) {
  stopWatching();
  const controller = new AbortController();
  watched = { orderId, controller };
  const live = $('#order-live');
  $('#order-section').hidden = false;
  $('#order-id').textContent = orderId;
  let delay = RECONNECT_MS.first;
  let ended = false;
  while (!controller.signal.aborted && !ended) {
    try {
      live.textContent = 'connecting…';
      await readEventStream(
        `/orders/${encodeURIComponent(orderId)}/events`,
        ({ event, data }) => {
          if (event !== 'order') return;
          const order = JSON.parse(data);
          live.textContent = 'live';
          delay = RECONNECT_MS.first;
          renderOrder(order);
          ended = isTerminal(order.status);
        },
        controller.signal,
      );
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) {
        // 404 for an order that is not the caller's (or does not exist), 401 for an expired session: no retry.
        live.textContent = '';
        $('#order-section').hidden = true;
        if (error.status === 401) expired(error);
        else showMessage(error);
        return;
      }
    }
    if (ended || controller.signal.aborted) break;
    live.textContent = 'reconnecting…';
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RECONNECT_MS.max);
  }
  if (!ended) return;
  live.textContent = 'ended';
  // What the order changed: stock, coupons used or given back, the order list.
  await act(() => Promise.all([loadItems(), loadCoupons(), loadOrders()]), { keepMessage: true });
}

function renderOrder(order) {
  $('#order-id').textContent = order.orderId;
  const status = $('#order-status');
  status.textContent = order.status;
  status.className = `status status-${order.status}`;
  const failure = $('#order-failure');
  failure.hidden = !order.failureReason;
  failure.replaceChildren(
    ...(order.failureReason
      ? [el('strong', {}, order.failureReason), order.failureDetail ? `: ${order.failureDetail}` : '']
      : []),
  );
  $('#order-steps').replaceChildren(
    ...STEPS.map(([step, label]) =>
      el(
        'li',
        { dataset: { step }, class: `step step-${order.steps[step]}` },
        el('span', { class: 'step-name' }, label),
        ' ',
        el('span', { class: 'step-status' }, order.steps[step]),
      ),
    ),
  );
  $('#order-history').replaceChildren(
    ...order.history.map((entry) =>
      el('li', {}, `${entry.status} at ${formatTime(entry.at)}`, entry.detail ? ` (${entry.detail})` : ''),
    ),
  );
  // The gateway decides whether a cancel is still possible; the button is offered while the order is PENDING.
  $('#cancel').hidden = order.status !== 'PENDING';
}

async function cancelWatched() {
  if (!watched) return;
  await api('POST', `/orders/${encodeURIComponent(watched.orderId)}/cancel`);
  showMessage('Cancel accepted: every step that took effect is being undone.');
}

$('#quote').addEventListener('click', () => act(getQuote));
$('#order-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void act(placeOrder);
});
$('#cancel').addEventListener('click', () => act(cancelWatched));
window.addEventListener('hashchange', openFromLocation);
