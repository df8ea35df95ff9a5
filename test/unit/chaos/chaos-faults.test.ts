import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { excusedByBrokerOutage } from '../../chaos/broker-outage-exits.js';
import { BROKER_RESTART, FAULT_KINDS, GROUP_FAULT_KINDS, faultSchedule, type FaultKind } from '../../chaos/fault-schedule.js';

describe('the chaos fault schedule with the broker restart and group faults', () => {
  const single: FaultKind[] = [...FAULT_KINDS, BROKER_RESTART];
  const group: FaultKind[] = [...GROUP_FAULT_KINDS, BROKER_RESTART];

  it('schedules every kind once, the broker restart included, in both modes', () => {
    for (const [kinds, seed] of [[single, 1], [group, 2]] as const) {
      const kindsScheduled = faultSchedule(seed, kinds, 12).map((f) => f.kind);
      assert.equal(kindsScheduled.length, 12);
      for (const kind of kinds) assert.ok(kindsScheduled.includes(kind), `${kind} in seed ${seed}`);
    }
  });

  it('keeps the broker down 1–6 s (plus its own restart: below the 30 s retry deadline) and gives group kills both restart choices', () => {
    const params = (kind: FaultKind) => [1, 2, 3, 4, 5, 6, 7, 8].flatMap((seed) => faultSchedule(seed, group, 40).filter((f) => f.kind === kind).map((f) => f.param));
    for (const p of params(BROKER_RESTART)) assert.ok(p >= 1_000 && p <= 6_000, `downtime ${p}`);
    const kills = params('group-kill');
    assert.ok(kills.some((p) => p % 2 === 1) && kills.some((p) => p % 2 === 0), 'kills with and without restart');
  });

  it('leaves the short form (explicit kinds without the broker) as it was', () => {
    const short: FaultKind[] = ['kill-after-checkpoint', 'kill-after-commit', 'sigstop-takeover', 'aws-blackhole', 'bad-burst'];
    const schedule = faultSchedule(11, short, 5);
    assert.ok(schedule.every((f) => f.kind !== BROKER_RESTART && !f.kind.startsWith('group-')));
    assert.deepEqual(schedule.map((f) => f.kind).sort(), [...short].sort());
  });
});

describe('which exits a broker outage excuses', () => {
  const kafkaTail = '{"msg":"job failed","err":"KafkaJSNumberOfRetriesExceeded: Connection error"}';
  const long = [{ killedAt: 1_000, readyAt: 41_000 }];
  const short = [{ killedAt: 1_000, readyAt: 21_000 }];

  it('excuses a non-zero exit naming Kafka during or within a deadline after an outage longer than the deadline', () => {
    assert.equal(excusedByBrokerOutage(long, 30_000, 35_000, false, kafkaTail), true);
    assert.equal(excusedByBrokerOutage(long, 30_000, 70_000, false, kafkaTail), true);
    assert.equal(excusedByBrokerOutage([{ killedAt: 1_000 }], 30_000, 35_000, false, kafkaTail), true, 'the broker still down');
  });

  it('never excuses an exit within an outage shorter than the deadline, one not naming Kafka, a clean one, or one outside the window', () => {
    assert.equal(excusedByBrokerOutage(short, 30_000, 15_000, false, kafkaTail), false);
    assert.equal(excusedByBrokerOutage(long, 30_000, 35_000, false, '{"msg":"job failed","err":"S3 unavailable"}'), false);
    assert.equal(excusedByBrokerOutage(long, 30_000, 35_000, true, kafkaTail), false);
    assert.equal(excusedByBrokerOutage(long, 30_000, 500, false, kafkaTail), false);
    assert.equal(excusedByBrokerOutage(long, 30_000, 72_000, false, kafkaTail), false);
    assert.equal(excusedByBrokerOutage([], 30_000, 35_000, false, kafkaTail), false);
  });
});
