/**
 * Two instances of the same job on one DynamoDB HA table: the first becomes active, the second is
 * started only once the first holds the lease (so the two never race for a fresh lease on the
 * multi-threaded moto, whose conditional writes are not atomic under races) and must wait as
 * standby — its log says so and its /readyz answers 503.
 */
import assert from 'node:assert/strict';
import { fixtureJobPath, freePort, httpGet, JobProcess } from './job-process.js';
import type { FailoverScenario } from './failover-scenario.js';

/** The pair; `all` is for cleanup. */
export interface ActiveStandbyPair {
  readonly active: JobProcess;
  readonly standby: JobProcess;
  readonly activePort: number;
  readonly standbyPort: number;
  readonly all: JobProcess[];
}

const START_MS = 30_000;

/** Polls `/readyz` until the metrics server answers; returns its status. */
export async function readyStatus(port: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await httpGet(port, '/readyz');
    if (response !== undefined) return response.status;
    if (Date.now() > deadline) throw new Error(`nothing answers /readyz on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the active instance, then the standby; `all` receives them at once so cleanup sees them even if a check fails. */
export async function startActiveAndStandby(
  scenario: FailoverScenario,
  env: { active: Record<string, string>; standby: Record<string, string> },
  all: JobProcess[],
): Promise<ActiveStandbyPair> {
  const activePort = await freePort();
  const active = new JobProcess('active', fixtureJobPath('sequence'), scenario.env({ ...env.active, METRICS_PORT: String(activePort) }));
  all.push(active);
  await active.waitForMsg('lease acquired', START_MS);
  const standbyPort = await freePort();
  const standby = new JobProcess('standby', fixtureJobPath('sequence'), scenario.env({ ...env.standby, METRICS_PORT: String(standbyPort) }));
  all.push(standby);
  await standby.waitForMsg('waiting as standby', START_MS);
  assert.equal(await readyStatus(standbyPort), 503, 'a standby is not ready');
  assert.equal(standby.logged('lease acquired').length, 0, `the standby must not hold the lease\n${standby.tail()}`);
  return { active, standby, activePort, standbyPort, all };
}
