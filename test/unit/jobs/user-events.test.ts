import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixSeed, mulberry32 } from '../../../src/runtime/random.js';
import { sampleUserEvent } from '../../../src/jobs/samples/user-events-sample.js';
import { EVENT_TYPES, normalizeEventType } from '../../../src/jobs/transforms/event-type.js';
import userEventsJob, { toUserEventRow, UserEvent, userEventsTable } from '../../../src/jobs/user_events.js';

const valid = {
  event_id: 'e-1',
  user_id: 'u-1',
  event_type: 'PageView',
  occurred_at: '2026-11-01T23:30:00.000-05:00',
};

test('event types: spellings and aliases map to the fixed set, unknown ones to other', () => {
  const cases: [string, string][] = [
    ['page_view', 'page_view'], ['PageView', 'page_view'], [' page-view ', 'page_view'], ['PAGE_VIEW', 'page_view'], ['pageview', 'page_view'], ['screen_view', 'page_view'],
    ['Click', 'click'], ['tap', 'click'], ['AddToCart', 'add_to_cart'], ['cart_add', 'add_to_cart'],
    ['Sign In', 'login'], ['signIn', 'login'], ['sign_up', 'signup'], ['order_completed', 'purchase'], ['begin_checkout', 'checkout'],
    ['video_play', 'other'], ['Experiment-Exposure', 'other'], ['clicks', 'other'],
  ];
  for (const [raw, expected] of cases) assert.equal(normalizeEventType(raw), expected, raw);
});

test('schema accepts a minimal event and rejects missing ids, blank types, bad times and non-object properties', () => {
  assert.equal(UserEvent.safeParse(valid).success, true);
  const bad: Record<string, unknown>[] = [
    { ...valid, event_id: '' },
    { ...valid, user_id: undefined },
    { ...valid, event_type: '   ' },
    { ...valid, event_type: 7 },
    { ...valid, occurred_at: '2026-11-01 23:30' },
    { ...valid, occurred_at: 'yesterday' },
    { ...valid, properties: 'wrong-type' },
  ];
  for (const record of bad) assert.equal(UserEvent.safeParse(record).success, false, JSON.stringify(record));
});

test('row: normalized type beside the raw one, event time as instant, event_date is its UTC day', () => {
  const row = toUserEventRow(UserEvent.parse({ ...valid, properties: { ref: 'x' } }));
  assert.equal(row.event_type, 'page_view');
  assert.equal(row.event_type_raw, 'PageView');
  assert.equal(row.event_time, Date.UTC(2026, 10, 2, 4, 30));
  assert.equal(row.event_date, '2026-11-02'); // 23:30 at -05:00 is the next day in UTC
  assert.equal(row.properties, '{"ref":"x"}');
  assert.equal(row.session_id, null);
  const unknown = toUserEventRow(UserEvent.parse({ ...valid, event_type: 'video_play' }));
  assert.deepEqual([unknown.event_type, unknown.event_type_raw], ['other', 'video_play']);
});

test('every table column is filled by the row and every row field is a column', () => {
  const row = toUserEventRow(UserEvent.parse(valid));
  assert.deepEqual(Object.keys(row), userEventsTable.fields.map((f) => f.name));
});

test('generator: 20 000 records all pass the schema, cover every event type and several UTC offsets', () => {
  const seen = new Set<string>();
  const offsets = new Set<string>();
  const ids = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const raw = sampleUserEvent(i, mulberry32(mixSeed(0, i)));
    const parsed = UserEvent.safeParse(raw);
    assert.ok(parsed.success, `record ${i}: ${JSON.stringify(raw)}`);
    const row = toUserEventRow(parsed.data);
    seen.add(row.event_type);
    ids.add(row.event_id);
    offsets.add(parsed.data.occurred_at.slice(23));
  }
  assert.deepEqual([...seen].sort(), [...EVENT_TYPES].sort());
  assert.equal(ids.size, 20_000);
  assert.ok(offsets.size >= 3, [...offsets].join(' '));
});

test('generator is deterministic in (index, random) and the job declares it as its input', () => {
  assert.deepEqual(sampleUserEvent(42, mulberry32(7)), sampleUserEvent(42, mulberry32(7)));
  assert.equal(userEventsJob.name, 'user_events');
  assert.equal(userEventsJob.input?.topic, 'user_events');
  assert.equal(userEventsJob.input?.generate, sampleUserEvent);
});
