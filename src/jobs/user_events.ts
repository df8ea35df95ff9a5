/**
 * user_events: clickstream from the web and mobile clients → Iceberg table `sink.user_events`,
 * one row per event. Normalizes the event type to a fixed set (unknown types are kept as
 * `other` with the raw value beside it: nothing is dropped), stores the event time as
 * timestamptz and its UTC calendar day as `event_date`. Invalid events are dead letters.
 */
import { z } from 'zod';
import { defineJob, icebergTableOutput, optional, partitionBy, required, tableSchema } from '../index.js';
import { sampleUserEvent } from './samples/user-events-sample.js';
import { normalizeEventType } from './transforms/event-type.js';

/** The JSON the clients publish. */
export const UserEvent = z.object({
  event_id: z.string().min(1),
  user_id: z.string().min(1),
  session_id: z.string().min(1).optional(),
  event_type: z.string().refine((t) => t.trim() !== '', 'event type is blank'),
  occurred_at: z.iso.datetime({ offset: true }),
  device: z.string().optional(),
  page: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});
export type UserEvent = z.infer<typeof UserEvent>;

export const userEventsTable = tableSchema({
  event_id: required('string'),
  user_id: required('string'),
  session_id: optional('string'),
  event_type: required('string', 'page_view, click, search, add_to_cart, remove_from_cart, checkout, purchase, signup, login, logout or other'),
  event_type_raw: required('string', 'event type as the client sent it'),
  event_time: required('timestamptz'),
  event_date: required('date', 'UTC day of event_time'),
  device: optional('string'),
  page: optional('string'),
  properties: optional('string', 'JSON object'),
});

/** One table row per event. */
export function toUserEventRow(e: UserEvent) {
  const eventTime = Date.parse(e.occurred_at);
  return {
    event_id: e.event_id,
    user_id: e.user_id,
    session_id: e.session_id ?? null,
    event_type: normalizeEventType(e.event_type),
    event_type_raw: e.event_type,
    event_time: eventTime,
    event_date: new Date(eventTime).toISOString().slice(0, 10),
    device: e.device ?? null,
    page: e.page ?? null,
    properties: e.properties === undefined ? null : JSON.stringify(e.properties),
  };
}

export default defineJob({
  name: 'user_events',
  checkpoint: { intervalMs: 10_000, retain: 3 },
  input: {
    topic: 'user_events',
    schema: UserEvent,
    generate: sampleUserEvent,
    key: (e) => e.user_id,
    eventTime: (e) => Date.parse(e.occurred_at),
    maxOutOfOrdernessMs: 5_000,
  },
  build: (events, env) =>
    events
      .map('to-row', toUserEventRow)
      .sink('table', icebergTableOutput(env, { name: 'user_events', schema: userEventsTable, partitionSpec: partitionBy(userEventsTable, [{ column: 'event_time', transform: 'day' }]) })),
});
