import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INPUT_FINISHED, INPUT_PROCESSED, TaskMailbox, type InputStatus, type MailboxInput } from '../../../../src/runtime/execution/task-mailbox.js';
import { ManualClock } from '../../../../src/runtime/time/manual-clock.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';

/** Input that is always ready: every step spins `busyMs` of CPU, like a batch through a chain of operators. */
function alwaysReady(busyMs: number, log: string[] = [], steps = Infinity): MailboxInput & { steps: number } {
  return {
    steps: 0,
    processInput(): InputStatus {
      if (this.steps >= steps) return INPUT_FINISHED;
      const until = performance.now() + busyMs;
      while (performance.now() < until);
      log.push(`input ${++this.steps}`);
      return INPUT_PROCESSED;
    },
  };
}

function failOnMailError(error: unknown): never {
  throw error;
}

test('mail runs before the next unit of input', async () => {
  const log: string[] = [];
  const mailbox = new TaskMailbox({ clock: systemClock, onMailError: failOnMailError });
  const input: MailboxInput = {
    processInput() {
      const n = log.filter((l) => l.startsWith('input')).length + 1;
      log.push(`input ${n}`);
      if (n === 2) mailbox.send('mail a', () => log.push('mail a'));
      if (n === 2) mailbox.send('mail b', () => log.push('mail b'));
      return n === 4 ? INPUT_FINISHED : INPUT_PROCESSED;
    },
  };
  await mailbox.run(input);
  assert.deepEqual(log, ['input 1', 'input 2', 'mail a', 'mail b', 'input 3', 'input 4']);
});

test('an always-ready input leaves the event loop its turns: timers fire on time', async () => {
  const mailbox = new TaskMailbox({ clock: systemClock, sliceMs: 5, onMailError: failOnMailError });
  const input = alwaysReady(0.5);
  let ticks = 0;
  const started = performance.now();
  const ticker = setInterval(() => ticks++, 20);
  const running = mailbox.run(input);
  await new Promise((resolve) => setTimeout(resolve, 600));
  mailbox.close();
  await running;
  clearInterval(ticker);
  const expected = (performance.now() - started) / 20;
  assert.ok(ticks >= 0.9 * expected - 1, `a 20 ms interval fired ${ticks} times in ${Math.round(performance.now() - started)} ms (expected ~${expected.toFixed(0)})`);
  assert.ok(input.steps > 200, `input ran meanwhile (${input.steps} steps)`);
  assert.ok(mailbox.stats.yields > 20, `the loop yielded ${mailbox.stats.yields} times`);
});

test('a blocked input waits for its promise, and mail wakes the loop meanwhile', async () => {
  const log: string[] = [];
  let release!: () => void;
  const pending = new Promise<void>((resolve) => (release = resolve));
  let released = false;
  const mailbox = new TaskMailbox({ clock: systemClock, onMailError: failOnMailError });
  const input: MailboxInput = {
    processInput() {
      if (!released) {
        log.push('blocked');
        return { until: pending.then(() => (released = true)) };
      }
      log.push('done');
      return INPUT_FINISHED;
    },
  };
  const running = mailbox.run(input);
  await new Promise((resolve) => setTimeout(resolve, 20));
  mailbox.send('control', () => log.push('mail'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  await running;
  assert.deepEqual(log, ['blocked', 'mail', 'blocked', 'done']);
});

test('close ends the loop; mail sent after it runs at once', async () => {
  const mailbox = new TaskMailbox({ clock: systemClock, onMailError: failOnMailError });
  const running = mailbox.run(alwaysReady(0));
  await new Promise((resolve) => setTimeout(resolve, 10));
  mailbox.close();
  await running;
  let ran = false;
  mailbox.send('late', () => (ran = true));
  assert.equal(ran, true);
});

test('a mail that throws is reported, and the loop goes on', async () => {
  const errors: string[] = [];
  const mailbox = new TaskMailbox({ clock: systemClock, onMailError: (error, description) => errors.push(`${description}: ${(error as Error).message}`) });
  mailbox.send('broken', () => {
    throw new Error('boom');
  });
  await mailbox.run(alwaysReady(0, [], 3));
  assert.deepEqual(errors, ['broken: boom']);
});

test('in virtual time (a clock that stands still) the loop still yields', async () => {
  const clock = new ManualClock();
  const mailbox = new TaskMailbox({ clock, sliceMs: 5, onMailError: failOnMailError });
  const running = mailbox.run(alwaysReady(0));
  let immediates = 0;
  await new Promise<void>((resolve) => {
    const again = () => (++immediates < 5 ? setImmediate(again) : resolve());
    setImmediate(again);
  });
  mailbox.close();
  await running;
  assert.equal(immediates, 5);
  assert.ok(mailbox.stats.yields >= 4);
});
