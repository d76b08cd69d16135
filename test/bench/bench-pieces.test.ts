/**
 * The pieces of `npm run bench` against the real system: its HTTP client waits for orders as a real client does
 * (one request when the order ends within the POST's wait, long polls after), and its saga topology floor keeps
 * the shape of a real order's workflow (the same activities on as many queues, as many local writes), so that a
 * change of the saga that the floor does not follow fails here.
 */
import type { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineFloors } from './engine-floors';
import { GatewayClient } from './gateway-client';
import { aUser, anItem, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let customer: TestUser;
let floors: EngineFloors;

beforeAll(async () => {
  system = await startTestSystem();
  customer = await aUser(system);
  floors = await EngineFloors.connect(process.env.TEMPORAL_ADDRESS!, 'default', `test-${process.pid}`);
});

afterAll(async () => {
  await floors?.close();
  await system?.stop();
});

describe('the benchmark client', () => {
  test('when the order ends within the POST wait, then one request and the stock the admin API created goes down by one', async () => {
    const client = new GatewayClient(system.baseUrl);
    const admin = await aUser(system, 'ADMIN');
    const itemId = await client.createItem(admin.token, {
      name: `bench test ${Date.now()}`,
      price: 500,
      stockQuantity: 3,
    });
    const order = await client.placeAndWait(customer.token, itemId, 500);
    expect(order).toMatchObject({ status: 'COMPLETED', requests: 1 });
    expect(order.ms).toBeGreaterThan(0);
    expect(await client.stockOf(itemId)).toBe(2);
  });

  test('when the order outlives the POST wait, then the client long polls until it has ended', async () => {
    const client = new GatewayClient(system.baseUrl, 1);
    const item = await anItem(system, { price: 700 });
    await system.stopWorker('payment');
    try {
      const placing = client.placeAndWait(customer.token, item.id, 700);
      await sleep(2_500);
      await system.startWorker('payment');
      const order = await placing;
      expect(order.status).toBe('COMPLETED');
      expect(order.requests).toBeGreaterThanOrEqual(3);
      expect(order.ms).toBeGreaterThan(2_000);
    } finally {
      await system.startWorker('payment');
    }
  });
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What a workflow did on Temporal: activity types with the suffix of their queue, local writes, workflow tasks. */
function shape(events: HistoryEvent[], queuePrefix: string) {
  const scheduled = events.flatMap((event) => {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (!attributes) return [];
    return [`${attributes.activityType?.name} on ${attributes.taskQueue?.name?.slice(queuePrefix.length)}`];
  });
  return {
    activities: scheduled.sort(),
    localActivities: events.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .length,
    workflowTasks: events.filter((event) => event.workflowTaskCompletedEventAttributes).length,
  };
}

describe('the engine floors', () => {
  test('the saga topology floor runs what a successful order runs: the same activities, queues and local writes', async () => {
    const client = new GatewayClient(system.baseUrl);
    const item = await anItem(system, { price: 900 });
    const order = await client.placeAndWait(customer.token, item.id, 900);
    expect(order.status).toBe('COMPLETED');
    const orderHistory = await system.client.workflow.getHandle(`order-${order.orderId}`).fetchHistory();

    const run = await floors.withWorkers(['topology'], (runOne) => runOne('topology'));
    const floorHistory = await floors.client.workflow.getHandle(run.workflowId).fetchHistory();
    const prefix = run.workflowId.replace(/-topology-\d+$/, '-');

    const saga = shape(orderHistory.events ?? [], '');
    expect(saga.activities).toEqual([
      'chargePayment on payments',
      'recordOrderProgress on orders',
      'redeemCoupons on coupons',
      'reserveStock on items',
    ]);
    // Workflow tasks are not compared: their number follows timing, not the code (the parallel reserve and
    // redeem end in one task or two as their results reach the server together or apart, and a local write that
    // outlasts most of a task's timeout adds a task to keep it alive).
    const floor = shape(floorHistory.events ?? [], prefix);
    expect({ ...floor, workflowTasks: 0 }).toEqual({ ...saga, workflowTasks: 0 });
  });

  test('the minimal floor runs three activities on the workflow queue and nothing else', async () => {
    const run = await floors.withWorkers(['minimal'], (runOne) => runOne('minimal'));
    const history = await floors.client.workflow.getHandle(run.workflowId).fetchHistory();
    const prefix = run.workflowId.replace(/-minimal-\d+$/, '-');
    expect(shape(history.events ?? [], prefix)).toEqual({
      activities: ['chargePayment on minimal', 'redeemCoupons on minimal', 'reserveStock on minimal'],
      localActivities: 0,
      workflowTasks: expect.any(Number),
    });
    expect(run.ms).toBeGreaterThan(0);
  });
});
