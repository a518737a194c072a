/**
 * The worker's Prometheus endpoint: the Temporal Core SDK's own runtime metrics, exported by the SDK's built-in
 * Prometheus server when `STEPWISE_WORKER_METRICS_ADDRESS` is set (e.g. `0.0.0.0:9464`; scrape `GET /metrics` there).
 * Off by default.
 *
 * Among the series (prefix `temporal_`, durations in milliseconds, as Temporal's SDK metrics reference names them):
 * `temporal_workflow_task_schedule_to_start_latency` and `temporal_activity_schedule_to_start_latency` (histograms:
 * how long tasks wait in the task queue for a free worker), `temporal_worker_task_slots_used` and
 * `temporal_worker_task_slots_available` (gauges, by `worker_type`: WorkflowWorker, ActivityWorker,
 * LocalActivityWorker), `temporal_workflow_task_execution_latency`, `temporal_activity_execution_latency`,
 * `temporal_sticky_cache_size`, `temporal_num_pollers`, `temporal_request` / `temporal_request_failure`. Every series
 * carries `namespace`, `task_queue` and `service_name` (`temporal-core-sdk`) labels.
 *
 * Which one to autoscale on: docs/production.md "Scaling out".
 */
import { Runtime } from '@temporalio/worker';

/** Where the worker's metrics are served, from `STEPWISE_WORKER_METRICS_ADDRESS` (`host:port`). */
export function workerMetricsAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.STEPWISE_WORKER_METRICS_ADDRESS?.trim();
  return value ? value : undefined;
}

/**
 * Installs the process's Temporal runtime with the Prometheus exporter bound to `bindAddress` (`host:port`). Must run
 * before the first `NativeConnection` or `Worker` of the process (they create the default runtime otherwise).
 *
 * @throws Error (from the SDK) when a runtime was already installed or created, or when the address cannot be bound
 *   (e.g. the port is taken): not retryable, a configuration problem.
 */
export function installWorkerMetrics(bindAddress: string): void {
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
}
