/**
 * Replays every committed history against today's placeOrder: an incompatible change to the workflow fails
 * here before it can break orders in flight. The negative test proves the check bites.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type ReplayResult,
} from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { ENCRYPTED_ENCODING, isEncrypted } from '../../lib/payload-codec';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../lib/workflow-bundle';
import { testCodec, testDataConverter } from '../support/payload-keys';

const HISTORIES_DIR = path.join(__dirname, 'histories');
/** The sets recorded before the payload codec existed: their payloads are plain JSON. */
const RECORDED_UNENCRYPTED = [
  'v1-before-running-steps',
  'v2-record-running-steps',
  'v3-crash-proof',
  'v4-verify-charge',
  'v5-local-progress-records',
];
/** How an encrypted payload's `encoding` looks in a history's JSON (metadata values are base64). */
const ENCRYPTED_ENCODING_BASE64 = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

// The negative tests provoke determinism violations on purpose; the SDK would log each one as a warning.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  shutdownSignals: [],
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
});

function fixtures(): { set: string; name: string; file: string }[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((set) =>
      readdirSync(path.join(HISTORIES_DIR, set.name))
        .filter((file) => file.endsWith('.json'))
        .map((file) => ({
          set: set.name,
          name: file.replace(/\.json$/, ''),
          file: path.join(HISTORIES_DIR, set.name, file),
        })),
    );
}

function histories(set?: string, name?: string) {
  return fixtures()
    .filter((fixture) => (!set || fixture.set === set) && (!name || fixture.name === name))
    .map(({ set, name, file }) => ({
      workflowId: `${set}/${name}`,
      history: historyFromJSON(JSON.parse(readFileSync(file, 'utf8'))),
    }));
}

/** Replays as the order worker runs: with the project's data converter (payload codec) installed. */
async function replayAll(
  workflowBundle: { code: string } | { codePath: string },
  set?: string,
  name?: string,
  dataConverter: DataConverter = testDataConverter,
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle, replayName: 'placeOrder fixtures', dataConverter },
    histories(set, name),
  )) {
    results.push(result);
  }
  return results;
}

const SCENARIOS = [
  'success',
  'out-of-stock',
  'coupon-rejected',
  'payment-declined',
  'customer-cancel',
  'undo-retried-by-operator',
];

/** Paths recorded since the crash-proof changes: each set from then on has them too. */
const CRASH_PROOF_SCENARIOS = [
  'payment-timeout',
  'service-unavailable',
  'operator-cancel',
  'reconciled-terminate',
  'started-on-previous-code',
];
const CRASH_PROOF_SET = 'v3-crash-proof';

/** Paths recorded since the verify-charge patch: a charge answer that does not prove the charge. */
const VERIFY_CHARGE_SCENARIOS = ['charge-unverified'];
const VERIFY_CHARGE_SET = 'v4-verify-charge';

/** The first set whose progress writes (all but the ending one) are local activities. */
const LOCAL_PROGRESS_SET = 'v5-local-progress-records';

/** Paths recorded since local progress writes: a cancel taken up while a local write's retry waits on a timer. */
const LOCAL_PROGRESS_SCENARIOS = ['cancel-while-write-fails'];

/** The saga paths every set recorded on or after `set` holds. */
function scenariosOf(set: string): string[] {
  if (set >= LOCAL_PROGRESS_SET)
    return [...SCENARIOS, ...CRASH_PROOF_SCENARIOS, ...VERIFY_CHARGE_SCENARIOS, ...LOCAL_PROGRESS_SCENARIOS];
  if (set >= VERIFY_CHARGE_SET) return [...SCENARIOS, ...CRASH_PROOF_SCENARIOS, ...VERIFY_CHARGE_SCENARIOS];
  if (set >= CRASH_PROOF_SET) return [...SCENARIOS, ...CRASH_PROOF_SCENARIOS];
  return SCENARIOS;
}

test('when the fixtures are listed, then every saga path is recorded in every history set', () => {
  const sets = new Map<string, string[]>();
  for (const { set, name } of fixtures()) sets.set(set, [...(sets.get(set) ?? []), name]);
  expect(sets.size).toBeGreaterThanOrEqual(4);
  for (const [set, names] of sets) expect(names.sort()).toEqual([...scenariosOf(set)].sort());
});

test("when every committed history is replayed against today's workflow code, then none violates determinism", async () => {
  const results = await replayAll({ codePath: process.env.TEST_WORKFLOW_BUNDLE! });
  expect(results).toHaveLength(fixtures().length);
  expect(
    results.filter((result) => result.error).map((result) => `${result.workflowId}: ${result.error?.message}`),
  ).toEqual([]);
});

test('when the committed histories are replayed with the payload codec installed, then the codec passes their unencrypted payloads through and every one replays', async () => {
  // The sets recorded before payloads were encrypted hold no encrypted payload.
  const unencrypted = fixtures().filter(({ set }) => RECORDED_UNENCRYPTED.includes(set));
  expect(unencrypted.length).toBeGreaterThanOrEqual(35);
  for (const { file } of unencrypted) expect(readFileSync(file, 'utf8')).not.toContain(ENCRYPTED_ENCODING_BASE64);
  const seen = { payloads: 0, encrypted: 0 };
  const watched: PayloadCodec = {
    encode: (payloads) => testCodec.encode(payloads),
    async decode(payloads) {
      seen.payloads += payloads.length;
      seen.encrypted += payloads.filter(isEncrypted).length;
      return testCodec.decode(payloads);
    },
  };
  const results = await replayAll({ codePath: process.env.TEST_WORKFLOW_BUNDLE! }, undefined, undefined, {
    payloadCodecs: [watched],
  });
  expect(results).toHaveLength(fixtures().length);
  expect(
    results.filter((result) => result.error).map((result) => `${result.workflowId}: ${result.error?.message}`),
  ).toEqual([]);
  // Inputs, activity results, update arguments: hundreds of payloads went through the codec unencrypted.
  expect(seen.payloads - seen.encrypted).toBeGreaterThan(5 * unencrypted.length);
});

test("when the histories are replayed with the tracing interceptors in the bundle, then every one replays; with @temporalio/interceptors-opentelemetry's own workflow interceptors, those with updates would not", async () => {
  // The bundle every replay here uses is the one the order worker runs, tracing interceptors included.
  expect(readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8')).toContain('workflows/trace-context.ts');

  const withPackageInterceptors = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} },
  });
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowBundle: withPackageInterceptors,
      dataConverter: testDataConverter,
      // Where those interceptors export the workflow's spans; dropped here.
      sinks: { exporter: makeWorkflowExporter(new NoopSpanProcessor(), new Resource({})) },
    },
    histories(),
  )) {
    results.push(result);
  }
  const failed = results.filter((result) => result.error);
  // Their async span around each activity call reorders the commands of an activation that completes an update.
  expect(failed.map((result) => result.workflowId)).toEqual(
    expect.arrayContaining([
      'v1-before-running-steps/undo-retried-by-operator',
      'v4-verify-charge/started-on-previous-code',
    ]),
  );
  for (const result of failed) expect(result.error).toBeInstanceOf(DeterminismViolationError);
});

/** Today's workflow with the source of one of its files rewritten by a webpack loader. */
function bundleVariant(loader: string, file: RegExp = /place-order\.ts$/) {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    webpackConfigHook: (config) => {
      config.module?.rules?.push({
        test: file,
        enforce: 'pre',
        use: [{ loader: require.resolve(loader) }],
      });
      return config;
    },
    logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} },
  });
}

/** Histories of the reconciler's cleanUpOrder, which has no parallel steps to reorder. */
const CLEANUP_SCENARIOS = new Set(['reconciled-terminate']);

test('when the two parallel steps are reordered, then replaying the committed placeOrder histories fails with a DeterminismViolationError', async () => {
  const results = await replayAll(await bundleVariant('./reorder-parallel-steps-loader.js'));
  expect(results).toHaveLength(fixtures().length);
  for (const result of results) {
    const cleanup = CLEANUP_SCENARIOS.has(result.workflowId.split('/')[1]!);
    if (cleanup) expect(result.error).toBeUndefined();
    else expect(result.error).toBeInstanceOf(DeterminismViolationError);
  }
});

test('when the running-steps change ignores its patched() guard, then the histories recorded before it fail and those after it replay', async () => {
  const unguarded = await bundleVariant('./unguard-patch-loader.js');
  const before = await replayAll(unguarded, 'v1-before-running-steps');
  expect(before).toHaveLength(SCENARIOS.length);
  for (const result of before) expect(result.error).toBeInstanceOf(DeterminismViolationError);
  const after = await replayAll(unguarded, 'v2-record-running-steps');
  expect(after).toHaveLength(SCENARIOS.length);
  expect(after.filter((result) => result.error).map((result) => result.workflowId)).toEqual([]);
});

test('when the verify-charge change ignores its patched() guard, then the completed orders recorded before it fail and every history after it replays', async () => {
  const unguarded = await bundleVariant('./unguard-verify-charge-loader.js');
  const before = (await replayAll(unguarded, undefined, 'success')).filter(
    (result) => result.workflowId < VERIFY_CHARGE_SET,
  );
  // Their charge answer was a bare { status: 'CAPTURED' }: checked now, those orders would not have completed.
  expect(before.map((result) => result.workflowId).sort()).toEqual([
    'v1-before-running-steps/success',
    'v2-record-running-steps/success',
    'v3-crash-proof/success',
  ]);
  for (const result of before) expect(result.error).toBeInstanceOf(DeterminismViolationError);
  const after = await replayAll(unguarded, VERIFY_CHARGE_SET);
  expect(after).toHaveLength(scenariosOf(VERIFY_CHARGE_SET).length);
  expect(after.filter((result) => result.error).map((result) => result.workflowId)).toEqual([]);
});

test('when the local-progress change ignores its patched() guard, then every history recorded before it fails and every one after it replays', async () => {
  const unguarded = await bundleVariant('./unguard-local-progress-loader.js', /saga\.ts$/);
  const results = await replayAll(unguarded);
  // started-on-previous-code began on the code before every patch, so its first writes are scheduled activities.
  const recordedBefore = (id: string) => id < LOCAL_PROGRESS_SET || id.endsWith('/started-on-previous-code');
  const before = results.filter((result) => recordedBefore(result.workflowId));
  const after = results.filter((result) => !recordedBefore(result.workflowId));
  expect(before.length).toBeGreaterThanOrEqual(4 * SCENARIOS.length);
  // Their writes were scheduled activities: a local activity in their place is another command.
  for (const result of before)
    expect([result.workflowId, result.error]).toEqual([result.workflowId, expect.any(DeterminismViolationError)]);
  expect(after).toHaveLength(scenariosOf(LOCAL_PROGRESS_SET).length - 1);
  expect(after.filter((result) => result.error).map((result) => result.workflowId)).toEqual([]);
});
