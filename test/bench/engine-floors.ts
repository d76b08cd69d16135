/**
 * The engine floors, measured by `npm run bench` on the stack's own Temporal server: workers in the benchmark's
 * process (on task queues of its own, so the stack's workers never see these tasks) run the floor workflows of
 * ./floor-workflows.ts, and a client starts each one and waits for its result, as the gateway starts an order.
 */
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import type { NoopActivities, TopologyQueues } from './floor-workflows';

export type FloorName = 'minimal' | 'topology';

/** One floor workflow: started and waited for. */
export interface FloorRun {
  ms: number;
  workflowId: string;
}

const noop = async () => {};
const NOOP_ACTIVITIES: NoopActivities = {
  reserveStock: noop,
  redeemCoupons: noop,
  chargePayment: noop,
  recordOrderProgress: noop,
};

const silentLogger = { log() {}, info() {}, warn: console.warn, error: console.error, debug() {}, trace() {} };

export class EngineFloors {
  private constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly prefix: string,
    private readonly bundle: WorkflowBundle,
    private readonly connection: NativeConnection,
    private readonly clientConnection: Connection,
    readonly client: Client,
  ) {}

  /** Connects to the server and bundles the floor workflows once. */
  static async connect(address: string, namespace: string, runId: string): Promise<EngineFloors> {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./floor-workflows'),
      logger: silentLogger,
    });
    const connection = await NativeConnection.connect({ address });
    const clientConnection = await Connection.connect({ address });
    const client = new Client({ connection: clientConnection, namespace });
    return new EngineFloors(address, namespace, `bench-${runId}`, { code }, connection, clientConnection, client);
  }

  /** The Temporal server's version, as it reports it. */
  async serverVersion(): Promise<string> {
    const info = await this.clientConnection.workflowService.getClusterInfo({});
    return `${info.serverVersion ?? '?'} (${info.clusterName ?? '?'})`;
  }

  private queues(): TopologyQueues {
    return {
      orders: `${this.prefix}-orders`,
      items: `${this.prefix}-items`,
      coupons: `${this.prefix}-coupons`,
      payments: `${this.prefix}-payments`,
    };
  }

  /**
   * Runs `body` while the workers of the given floors poll, then shuts them down. The topology floor has one worker
   * per queue (workflow and local activities on the `orders` one, as in the stack); the minimal floor one worker.
   */
  async withWorkers<T>(
    floorNames: FloorName[],
    body: (runOne: (floor: FloorName) => Promise<FloorRun>) => Promise<T>,
  ): Promise<T> {
    const queues = this.queues();
    const minimalQueue = `${this.prefix}-minimal`;
    const common = { connection: this.connection, namespace: this.namespace, activities: NOOP_ACTIVITIES };
    const workers = await Promise.all(
      floorNames.flatMap((floor) =>
        floor === 'minimal'
          ? [Worker.create({ ...common, taskQueue: minimalQueue, workflowBundle: this.bundle })]
          : [
              Worker.create({ ...common, taskQueue: queues.orders, workflowBundle: this.bundle }),
              Worker.create({ ...common, taskQueue: queues.items }),
              Worker.create({ ...common, taskQueue: queues.coupons }),
              Worker.create({ ...common, taskQueue: queues.payments }),
            ],
      ),
    );
    const running = workers.map((worker) => worker.run());
    let sequence = 0;
    const runOne = async (floor: FloorName): Promise<FloorRun> => {
      if (!floorNames.includes(floor)) throw new Error(`no workers poll for the ${floor} floor`);
      const started = performance.now();
      sequence += 1;
      const workflowId = `${this.prefix}-${floor}-${sequence}`;
      if (floor === 'minimal') {
        await this.client.workflow.execute('minimalFloor', { taskQueue: minimalQueue, workflowId });
      } else {
        await this.client.workflow.execute('sagaTopologyFloor', {
          taskQueue: queues.orders,
          workflowId,
          args: [queues],
        });
      }
      return { ms: performance.now() - started, workflowId };
    };
    try {
      return await body(runOne);
    } finally {
      for (const worker of workers) worker.shutdown();
      await Promise.all(running);
    }
  }

  async close(): Promise<void> {
    await this.clientConnection.close();
    await this.connection.close();
  }

  get target(): string {
    return `${this.address} (namespace ${this.namespace})`;
  }
}
