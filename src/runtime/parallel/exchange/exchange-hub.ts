/**
 * One subtask's end of the keyed exchanges: a message port to every other subtask (made by the
 * coordinator, one MessageChannel per pair), the senders and receivers of each exchange, and a
 * signal the task loop waits on when it has nothing to do but wait for a peer.
 */
import type { MessagePort } from 'node:worker_threads';
import { JobDefinitionError } from '../../../errors.js';
import type { ChannelElement, ExchangeMessage } from './exchange-wire.js';

/** What the hub hands incoming elements to. */
export interface ExchangeInbox {
  deliver(channel: number, elements: readonly ChannelElement[]): void;
}

/** What the hub hands returned credit to. */
export interface ExchangeOutbox {
  credit(channel: number, n: number): void;
}

export class ExchangeHub {
  private readonly inboxes = new Map<number, ExchangeInbox>();
  private readonly outboxes = new Map<number, ExchangeOutbox>();
  /** What peers sent before this subtask's pipeline registered the exchange (it may still be restoring). */
  private readonly early: { peer: number; message: ExchangeMessage }[] = [];
  private wake: (() => void) | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    /** This subtask's index. */
    readonly self: number,
    /** Port to each other subtask by index; `undefined` at `self`. */
    private readonly peers: readonly (MessagePort | undefined)[],
  ) {
    peers.forEach((port, peer) => port?.on('message', (message: ExchangeMessage) => this.onMessage(peer, message)));
  }

  get parallelism(): number {
    return this.peers.length;
  }

  /** Registers exchange `x`'s receiving end in this subtask. */
  receiver(x: number, inbox: ExchangeInbox): void {
    this.inboxes.set(x, inbox);
    this.replayEarly();
  }

  /** Registers exchange `x`'s sending end in this subtask. */
  sender(x: number, outbox: ExchangeOutbox): void {
    this.outboxes.set(x, outbox);
    this.replayEarly();
  }

  /** Sends elements of exchange `x` to subtask `to` (to this subtask's own receiver without copying). */
  send(to: number, x: number, elements: readonly ChannelElement[]): void {
    if (to === this.self) {
      this.inboxes.get(x)?.deliver(to, elements);
      return;
    }
    try {
      this.peers[to]!.postMessage({ x, elements } satisfies ExchangeMessage);
    } catch (error) {
      if ((error as Error).name === 'DataCloneError') {
        throw new JobDefinitionError(
          `a record going to another parallel subtask (after keyBy) cannot be copied between threads: ${(error as Error).message}. Records before a keyBy must be plain data (objects, arrays, strings, numbers, dates); or run in one thread with PARALLELISM=1.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** Returns `n` credits of exchange `x` to subtask `to`'s sender. */
  credit(to: number, x: number, n: number): void {
    if (to === this.self) this.outboxes.get(x)?.credit(to, n);
    else this.peers[to]!.postMessage({ x, credit: n } satisfies ExchangeMessage);
  }

  /** Settles when the next message from a peer arrived (elements or credit). */
  activity(): Promise<void> {
    this.pending ??= new Promise<void>((resolve) => (this.wake = resolve));
    return this.pending;
  }

  close(): void {
    for (const port of this.peers) port?.close();
    this.signal();
  }

  private onMessage(peer: number, message: ExchangeMessage): void {
    if (!this.dispatch(peer, message)) this.early.push({ peer, message });
    this.signal();
  }

  /** Hands a message to its exchange's end; false when that end is not registered yet. */
  private dispatch(peer: number, message: ExchangeMessage): boolean {
    if ('elements' in message) {
      const inbox = this.inboxes.get(message.x);
      inbox?.deliver(peer, message.elements);
      return inbox !== undefined;
    }
    const outbox = this.outboxes.get(message.x);
    outbox?.credit(peer, message.credit);
    return outbox !== undefined;
  }

  /** Messages kept for ends registered since, in arrival order (per exchange and peer, order is what matters). */
  private replayEarly(): void {
    const waiting = this.early.splice(0);
    for (const { peer, message } of waiting) if (!this.dispatch(peer, message)) this.early.push({ peer, message });
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    this.pending = undefined;
    wake?.();
  }
}
