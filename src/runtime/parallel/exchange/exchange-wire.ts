/**
 * What subtasks send each other over the peer ports of a keyed exchange (see exchange-hub.ts).
 * Elements travel in order per (exchange, sender, receiver) — a port delivers in order — and
 * every element a receiver takes returns one credit to its sender, so no channel holds more
 * than its credits in flight.
 */
import type { StreamElement } from '../../stream-element.js';

/** The sender's input ended (after the stop barrier): the channel carries nothing more. */
export interface ChannelComplete {
  readonly kind: 'complete';
}

export const CHANNEL_COMPLETE: ChannelComplete = Object.freeze({ kind: 'complete' });

/** One element of a channel: a stream element, or the end of the channel. */
export type ChannelElement = StreamElement<unknown> | ChannelComplete;

/** Elements for exchange `x`, in order. */
export interface ElementsMessage {
  readonly x: number;
  readonly elements: readonly ChannelElement[];
}

/** `n` elements of exchange `x` were taken: the sender may send `n` more. */
export interface CreditMessage {
  readonly x: number;
  readonly credit: number;
}

export type ExchangeMessage = ElementsMessage | CreditMessage;

/**
 * Elements a sender may have in flight per channel before it waits for credit. A barrier queues
 * behind them: 4 rather than 16 cut the longest checkpoints at full speed, for 3–4 % of
 * throughput (BENCHMARKS.md).
 */
export const CHANNEL_CREDITS = 4;
