/**
 * The operator console: counts of orders by status (refreshed every 2 s while the tab is visible), the orders of
 * the chosen statuses (by default the stuck ones, COMPENSATION_FAILED, with their reason) and a retry of a stuck
 * order's undo steps. It only calls the admin API: a customer's token is refused there (403) and the refusal shown.
 */
import { $, ApiError, api, clearMessage, el, formatMoney, formatTime, setUpSession, showMessage } from './client.js';

/** The counts are read again this long after the last read ended: never more than once a second. */
export const COUNTS_REFRESH_MS = 2_000;

/** The statuses whose orders are listed; the order of the checkboxes is the server's (the counts' keys). */
const shown = new Set(['COMPENSATION_FAILED']);
let lastCounts = '';
let refreshing = false;
let timer = null;
let lastRead = 0;

const { expired } = setUpSession({
  async enter() {
    refreshing = true;
    lastCounts = '';
    await tick();
  },
  leave() {
    stop();
    $('#console').hidden = true;
  },
});

function stop() {
  refreshing = false;
  clearTimeout(timer);
  timer = null;
}

/** A refusal stops the refresh: 401 logs out, 403 (not an admin) is shown instead of the console. */
function refused(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    stop();
    $('#console').hidden = true;
    if (error.status === 401) expired(error);
    else showMessage(error);
    return;
  }
  showMessage(error);
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!refreshing || document.hidden) return;
  timer = setTimeout(tick, Math.max(0, COUNTS_REFRESH_MS - (Date.now() - lastRead)));
}

let reading = false;
async function tick() {
  if (reading) return;
  reading = true;
  try {
    await refreshCounts();
  } catch (error) {
    refused(error);
  } finally {
    lastRead = Date.now();
    reading = false;
  }
  schedule();
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && refreshing && !timer) schedule();
});

async function refreshCounts() {
  const { counts } = await api('GET', '/admin/orders/counts');
  $('#console').hidden = false;
  $('#counts-updated').textContent = `updated ${formatTime(new Date().toISOString())}`;
  if (!$('#statuses input')) renderStatusChoices(Object.keys(counts));
  $('#counts').replaceChildren(
    ...Object.entries(counts).map(([status, count]) => {
      const tile = el(
        'button',
        { type: 'button', class: `count status-${status}`, dataset: { status }, title: `Show the ${status} orders` },
        el('span', { class: 'count-value' }, String(count)),
        el('span', { class: 'count-label' }, status),
      );
      tile.addEventListener('click', () => {
        shown.clear();
        shown.add(status);
        for (const box of document.querySelectorAll('#statuses input')) box.checked = box.value === status;
        void loadOrders();
      });
      return tile;
    }),
  );
  // A changed count means orders moved: read the list again (an unchanged one is not read every time).
  const seen = JSON.stringify(counts);
  if (seen !== lastCounts) {
    lastCounts = seen;
    await loadOrders();
  }
}

function renderStatusChoices(statuses) {
  $('#statuses').append(
    ...statuses.map((status) => {
      const box = el('input', { type: 'checkbox', value: status, checked: shown.has(status) });
      box.addEventListener('change', () => {
        if (box.checked) shown.add(status);
        else shown.delete(status);
        void loadOrders();
      });
      return el('label', {}, box, ` ${status}`);
    }),
  );
}

async function loadOrders() {
  const note = $('#orders-note');
  if (shown.size === 0) {
    note.textContent = 'Choose at least one status.';
    $('#orders tbody').replaceChildren();
    return;
  }
  try {
    const { orders } = await api('GET', `/admin/orders?status=${[...shown].join(',')}`);
    note.textContent = `${orders.length} ${orders.length === 1 ? 'order' : 'orders'} (newest first, at most 100): ${[...shown].join(', ')}`;
    $('#orders tbody').replaceChildren(...orders.map(orderRow));
  } catch (error) {
    refused(error);
  }
}

function orderRow(order) {
  const steps = Object.entries(order.steps).map(([step, status]) =>
    el('span', { class: `step-chip step-${status}` }, `${step} ${status}`),
  );
  return el(
    'tr',
    { dataset: { orderId: order.orderId, status: order.status } },
    el('td', {}, el('code', {}, order.orderId)),
    el('td', {}, String(order.customerId)),
    el('td', {}, formatTime(order.createdAt)),
    el('td', {}, el('span', { class: `status status-${order.status}` }, order.status)),
    el('td', { class: 'number' }, formatMoney(order.totalPrice)),
    el('td', {}, ...steps),
    el(
      'td',
      { class: 'reason' },
      order.failureReason ? el('strong', {}, order.failureReason) : '',
      order.failureDetail ? el('div', { class: 'detail' }, order.failureDetail) : '',
    ),
    el('td', {}, order.status === 'COMPENSATION_FAILED' ? retryButton(order) : ''),
  );
}

function retryButton(order) {
  const button = el('button', { type: 'button', class: 'retry' }, 'Retry undo');
  button.addEventListener('click', async () => {
    clearMessage();
    button.disabled = true;
    try {
      await api('POST', `/admin/orders/${encodeURIComponent(order.orderId)}/retry-compensation`);
      showMessage(`Retry accepted for order ${order.orderId}: its undo steps run again.`);
      await loadOrders();
    } catch (error) {
      button.disabled = false;
      refused(error);
    }
  });
  return button;
}
