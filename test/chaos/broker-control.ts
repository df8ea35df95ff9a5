/**
 * Crashes and restarts the Kafka broker that `scripts/services.sh` started (pid file
 * `<services dir>/run/kafka.pid`): SIGKILL, as a crash of the broker's host would end it, then
 * `scripts/services.sh up kafka` after a pause, which starts it again (the KRaft log recovers
 * from the unclean shutdown) and waits until it answers metadata requests. The broker is shared
 * by everything on the machine: only the full chaos run (`npm run test:chaos`) does this.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, servicesDir } from '../helpers/services.js';

const run = promisify(execFile);

/** One broker crash: when it went down and when it answered again (ms, performance.now()). */
export interface BrokerOutage {
  readonly killedAt: number;
  /** Unset while the broker is down. */
  readyAt?: number;
}

const START_TIMEOUT_MS = 180_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class BrokerControl {
  readonly outages: BrokerOutage[] = [];

  /** The pid of the broker the services script started; throws when there is none (a broker started otherwise is not ours to kill). */
  pid(): number {
    const file = join(servicesDir(), 'run', 'kafka.pid');
    let pid: number;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      throw new Error(`broker-restart: no ${file}; set STREAMLINE_SERVICES_DIR to the services folder whose script started the broker, or CHAOS_BROKER_RESTART=0`);
    }
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) throw new Error(`broker-restart: ${file} names no live process (${pid})`);
    return pid;
  }

  /** SIGKILLs the broker, keeps it down `downMs`, starts it again and waits until it answers. */
  async crashAndRestart(downMs: number): Promise<BrokerOutage> {
    const pid = this.pid();
    process.kill(pid, 'SIGKILL');
    const outage: BrokerOutage = { killedAt: performance.now() };
    this.outages.push(outage);
    while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.up();
    outage.readyAt = performance.now();
    return outage;
  }

  /** Starts the broker unless it runs (idempotent; `services.sh up` waits until it answers). */
  async up(): Promise<void> {
    await run('bash', [join(repoRoot(), 'scripts', 'services.sh'), 'up', 'kafka'], {
      cwd: repoRoot(),
      env: { ...process.env, STREAMLINE_SERVICES_DIR: servicesDir() },
      timeout: START_TIMEOUT_MS,
    });
  }

  /** After a run: the broker must be up whatever happened (others share it). */
  async ensureUp(): Promise<void> {
    if (this.outages.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.up();
        return;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  }
}
