/**
 * Runs labd's background jobs under a leadership: every job that is not a singleton runs on every
 * replica from start to stop; a singleton job (`Job.singleton`) runs only while this replica is the
 * leader: started when it becomes leader, stopped (at once, synchronously begun) when it stops being
 * leader. Starts wait for the stops before them, so a job is never started while its previous run
 * is still stopping.
 */
import type { Logger } from '../../core/logger.ts';
import type { Job } from '../module.ts';
import type { Leadership } from './port.ts';

export class JobRunner {
  private readonly everywhere: Job[];
  private readonly singletons: Job[];
  private running: Job[] = [];
  /** Stops in progress: a start waits for them. */
  private stopping: Promise<void> = Promise.resolve();
  private stopsPending = 0;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    jobs: readonly Job[],
    private readonly leadership: Leadership,
    private readonly log: Logger,
  ) {
    this.everywhere = jobs.filter((j) => !j.singleton);
    this.singletons = jobs.filter((j) => j.singleton);
  }

  /** Names of the singleton jobs running now (empty on a follower). */
  runningSingletons(): string[] {
    return this.running.map((j) => j.name);
  }

  start(): void {
    for (const job of this.everywhere) job.start();
    this.unsubscribe = this.leadership.onChange((leader) => (leader ? this.lead() : this.follow()));
    if (this.leadership.isLeader()) this.lead();
  }

  /** Stops every job: the singletons first (all begun at once), then the others in reverse order. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.follow();
    await this.stopping;
    for (const job of [...this.everywhere].reverse()) await job.stop();
  }

  private lead(): void {
    if (this.stopped) return;
    // At once when nothing is stopping (a single process starts its jobs as labd always did), else after the stops.
    if (!this.stopsPending) this.startSingletons();
    else void this.stopping.then(() => this.startSingletons());
  }

  private startSingletons(): void {
    // Still leader, and not started already by an earlier call.
    if (this.stopped || !this.leadership.isLeader() || this.running.length) return;
    this.running = [...this.singletons];
    if (this.running.length) this.log.info({ jobs: this.running.map((j) => j.name) }, 'leader: starting the singleton jobs');
    for (const job of this.running) {
      try {
        job.start();
      } catch (err) {
        this.log.error({ err, job: job.name }, 'a singleton job did not start');
      }
    }
  }

  private follow(): void {
    const jobs = this.running.reverse();
    this.running = [];
    if (!jobs.length) return;
    this.log.info({ jobs: jobs.map((j) => j.name) }, 'not leader: stopping the singleton jobs');
    // Every stop begins now; the next start waits until all have finished.
    const failed = (job: Job) => (err: unknown) => this.log.error({ err, job: job.name }, 'a singleton job did not stop cleanly');
    const stops = jobs.map((job) => {
      try {
        return Promise.resolve(job.stop()).catch(failed(job));
      } catch (err) {
        failed(job)(err);
        return Promise.resolve();
      }
    });
    this.stopsPending++;
    this.stopping = Promise.all([this.stopping, ...stops]).then(() => {
      this.stopsPending--;
    });
  }
}
