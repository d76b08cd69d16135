/**
 * Payment data stays out of Temporal in plaintext, on the real stack: an order paid with `tok_visa` leaves no
 * `tok_visa` in the bytes of its history as the server stores and serves it (read raw, without the codec), nor in
 * its description (summary, details, memo, search attributes) or current details; its encrypted history replays
 * with the codec and not without. The gateway's codec endpoint gives the Web UI the plaintext, for admins only.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { TestCardToken } from '../../domain/card-tokens';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../lib/payload-codec';
import { resolveTemporalCli } from '../../scripts/lib/temporal-server';
import { orderWorkflowId } from '../../workflows/definitions';
import { aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { TEST_PAYLOAD_KEYS, testDataConverter } from '../support/payload-keys';
import { startTestSystem, type TestSystem } from '../support/system';

const execFileAsync = promisify(execFile);

type History = temporal.api.history.v1.IHistory;
type Payload = temporal.api.common.v1.IPayload;

let system: TestSystem;
let customer: TestUser;
let admin: TestUser;
let orderId: string;
let history: History;

const NAMESPACE = 'default';
const TOKEN = TestCardToken.approve;

/** The history as the server serves it: every page, payloads exactly as stored, nothing decoded. */
async function rawHistory(workflowId: string): Promise<History> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await system.client.workflowService.getWorkflowExecutionHistory({
      namespace: NAMESPACE,
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}

const bytesOfHistory = (value: History) => Buffer.from(temporal.api.history.v1.History.encode(value).finish());
const metadataOf = (payload: Payload | null | undefined, key: string) =>
  Buffer.from(payload?.metadata?.[key] ?? []).toString('utf8');

function startedInput(value: History): Payload {
  const started = value.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = started?.input?.payloads?.[0];
  if (!input) throw new Error('the history has no started event with an input');
  return input;
}

beforeAll(async () => {
  system = await startTestSystem();
  customer = await aUser(system);
  admin = await aUser(system, 'ADMIN');
  const item = await anItem(system);
  const placed = await request(system, 'POST', '/orders', {
    token: customer.token,
    body: { lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }], payment: { token: TOKEN } },
  });
  expect(placed.status).toBe(202);
  orderId = placed.body.orderId;
  expect((await waitForOrder(system, customer.token, orderId)).status).toBe('COMPLETED');
  await system.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  history = await rawHistory(orderWorkflowId(orderId));
});

afterAll(async () => {
  await system?.stop();
});

describe('what Temporal stores of an order paid by card', () => {
  test('when the raw history of an order paid with tok_visa is read, then its bytes hold no tok_visa, and its payloads are encrypted with the current key', () => {
    const bytes = bytesOfHistory(history);

    // The bytes are readable where Temporal needs them (the check could see plaintext), but the token is not there.
    expect(bytes.includes('placeOrder')).toBe(true);
    expect(bytes.includes('chargePayment')).toBe(true);
    expect(bytes.includes(TOKEN)).toBe(false);
    expect(bytes.includes(orderId)).toBe(true); // the workflow id, not a payload
    const input = startedInput(history);
    expect(metadataOf(input, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(metadataOf(input, KEY_ID_METADATA_KEY)).toBe(TEST_PAYLOAD_KEYS.currentKeyId);
    // The activity that gets the token: its input is ciphertext too.
    const charge = history.events?.find(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'chargePayment',
    );
    const chargeInput = charge?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
    expect(metadataOf(chargeInput, 'encoding')).toBe(ENCRYPTED_ENCODING);
  });

  test('when the order is described raw, then summary, details, memo and search attributes hold no tok_visa', async () => {
    const described = await system.client.workflowService.describeWorkflowExecution({
      namespace: NAMESPACE,
      execution: { workflowId: orderWorkflowId(orderId) },
    });
    const bytes = Buffer.from(
      temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(described).finish(),
    );
    expect(bytes.includes('OrderStatus')).toBe(true); // the search attributes are in what was checked
    expect(bytes.includes(TOKEN)).toBe(false);

    // Decoded, as the Web UI shows them through the codec: the card appears only masked.
    const handle = system.client.workflow.getHandle(orderWorkflowId(orderId));
    const description = await handle.describe();
    const details = await description.staticDetails();
    expect(details).toContain('card: ****visa');
    expect(`${await description.staticSummary()}\n${details}`).not.toContain(TOKEN);
    expect(JSON.stringify(description.memo ?? {})).not.toContain(TOKEN);
    expect(JSON.stringify(description.searchAttributes)).not.toContain(TOKEN);
    const metadata = await handle.query(workflowMetadataQuery);
    expect(metadata.currentDetails).toBe('Completed');
  });

  test('when the encrypted history is replayed, then it replays with the codec installed and fails without it', async () => {
    const workflowBundle = { codePath: process.env.TEST_WORKFLOW_BUNDLE! };
    await Worker.runReplayHistory({ workflowBundle, dataConverter: testDataConverter }, history, 'encrypted');
    await expect(Worker.runReplayHistory({ workflowBundle }, history, 'encrypted-without-codec')).rejects.toThrow();
  });
});

describe('the temporal CLI through the codec endpoint', () => {
  const cli = resolveTemporalCli();
  const run = async (args: string[]) =>
    (await execFileAsync(cli!, [...args, '--address', process.env.TEMPORAL_ADDRESS!, '--output', 'json'])).stdout;
  /** The started event's input as the CLI printed it (JSON output keeps payload bytes in base64). */
  const startedInputText = (json: string) => {
    const events = (JSON.parse(json) as { events: History['events'] }).events;
    const data = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data as unknown;
    return Buffer.from(String(data), 'base64').toString('latin1');
  };
  const codecFlags = () => ['--codec-endpoint', `${system.baseUrl}/codec`, '--codec-auth', `Bearer ${admin.token}`];

  test("when an operator passes the gateway's codec endpoint and an admin token, then the CLI shows the decrypted input and query answer; without them only ciphertext", async () => {
    if (!cli) throw new Error('no temporal CLI: run `npm run prepare:tools` or set TEMPORAL_CLI_PATH');
    const id = ['--workflow-id', orderWorkflowId(orderId)];

    // Run beside the gateway, which answers the CLI's codec requests from this same process.
    const shown = await run(['workflow', 'show', ...id, ...codecFlags()]);
    expect(startedInputText(shown)).toContain(TOKEN);
    const state = await run(['workflow', 'query', ...id, '--name', 'getSagaState', ...codecFlags()]);
    expect(state).toContain('"status": "COMPLETED"');

    expect(startedInputText(await run(['workflow', 'show', ...id]))).not.toContain(TOKEN);
    expect(await run(['workflow', 'query', ...id, '--name', 'getSagaState'])).not.toContain('COMPLETED');
  });
});

describe('the codec endpoint', () => {
  const payloadJson = (payload: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  });
  const decodeBody = () => ({ payloads: [payloadJson(startedInput(history))] });
  const utf8 = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

  test('when no token is sent, then 401 problem+json', async () => {
    const response = await request(system, 'POST', '/codec/decode', { body: decodeBody() });

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body.code).toBe('UNAUTHORIZED');
  });

  test('when a customer asks, then 403 problem+json, and nothing decrypted', async () => {
    const response = await request(system, 'POST', '/codec/decode', { token: customer.token, body: decodeBody() });

    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body.code).toBe('FORBIDDEN');
    expect(JSON.stringify(response.body)).not.toContain(TOKEN);
  });

  test("when an admin sends the order's encrypted input, then 200 with the plaintext payload", async () => {
    const response = await request(system, 'POST', '/codec/decode', {
      token: admin.token,
      body: decodeBody(),
      headers: { 'x-namespace': NAMESPACE },
    });

    expect(response.status).toBe(200);
    expect(response.body.payloads).toHaveLength(1);
    const [payload] = response.body.payloads;
    expect(utf8(payload.metadata.encoding)).toBe('json/plain');
    expect(JSON.parse(utf8(payload.data))).toMatchObject({ orderId, customerId: customer.id, paymentToken: TOKEN });
  });

  test('when an admin encodes a payload, then the result is encrypted with the current key and decodes back', async () => {
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: btoa('"hello"') };
    const encoded = await request(system, 'POST', '/codec/encode', { token: admin.token, body: { payloads: [plain] } });

    expect(encoded.status).toBe(200);
    expect(utf8(encoded.body.payloads[0].metadata.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(utf8(encoded.body.payloads[0].metadata[KEY_ID_METADATA_KEY])).toBe(TEST_PAYLOAD_KEYS.currentKeyId);
    const decoded = await request(system, 'POST', '/codec/decode', { token: admin.token, body: encoded.body });
    expect(decoded.body.payloads).toEqual([plain]);
  });

  test('when an encrypted payload was altered, or the body is not a payload list, then 422 and 400 problem+json', async () => {
    const altered = payloadJson(startedInput(history));
    const data = Buffer.from(altered.data, 'base64');
    data[data.length - 1]! ^= 0x01;
    const tampered = await request(system, 'POST', '/codec/decode', {
      token: admin.token,
      body: { payloads: [{ ...altered, data: data.toString('base64') }] },
    });
    expect(tampered.status).toBe(422);
    expect(tampered.body.code).toBe('PAYLOAD_NOT_DECODABLE');

    const malformed = await request(system, 'POST', '/codec/decode', {
      token: admin.token,
      body: { payloads: [{ data: 'not base64!' }] },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('VALIDATION_FAILED');
  });

  test("when an admin opens a codec session, then the cookie alone decodes, and the Web UI's origin may send it with X-Namespace", async () => {
    const session = await request(system, 'POST', '/codec/session', { token: admin.token });
    expect(session.status).toBe(204);
    const cookie = session.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^codec_session=[^;]+; Path=\/codec; HttpOnly; SameSite=Strict; Max-Age=\d+/);

    const byCookie = await request(system, 'POST', '/codec/decode', {
      body: decodeBody(),
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(byCookie.status).toBe(200);
    expect(utf8(byCookie.body.payloads[0].data)).toContain(TOKEN);

    const uiOrigin = new URL(process.env.TEMPORAL_UI_URL!).origin;
    const preflight = await request(system, 'OPTIONS', '/codec/decode', {
      headers: {
        origin: uiOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
    const foreign = await request(system, 'OPTIONS', '/codec/decode', {
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    // A customer's token in the cookie is still a customer's.
    const customerSession = await request(system, 'POST', '/codec/session', { token: customer.token });
    expect(customerSession.status).toBe(403);
    const logout = await request(system, 'DELETE', '/codec/session');
    expect(logout.headers.get('set-cookie')).toMatch(/^codec_session=; .*Max-Age=0/);
  });
});
