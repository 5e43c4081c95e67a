/**
 * Live readings of one accelerator, for the console's nodes view and Prometheus. Separate from
 * `Accelerator` (what the scheduler places on) because it changes every second and the scheduler
 * must not depend on it. Every reading is null when the vendor tool cannot report it (`[N/A]`,
 * `[Not Supported]`, `NA`), never a made-up 0.
 */
export interface AcceleratorTelemetry {
  /** The `Accelerator.id` this reading belongs to. */
  readonly id: string;
  readonly index: number;
  readonly utilizationPct: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly temperatureC: number | null;
  readonly powerW: number | null;
  /** Uncorrected (volatile) ECC errors; > 0 marks the device unhealthy. Null where not reported. */
  readonly eccUncorrected: number | null;
  /** Epoch ms of the reading. */
  readonly at: number;
}
