import { JobDefinitionError } from '../../errors.js';
import type { Operator } from '../operator.js';
import type { TwoPhaseCommitSink } from '../sink.js';
import type { Source } from '../source.js';
import type { StateKey } from '../state/keyed-state-backend.js';
import { filterOperator } from '../core-operators/filter.js';
import { flatMapOperator } from '../core-operators/flat-map.js';
import { mapOperator } from '../core-operators/map.js';
import type { GraphNode, OperatorNode, SinkNode, SourceNode } from './graph-node.js';

const STEP_ID = /^[a-z0-9][a-z0-9_-]*$/i;

/**
 * A named dataflow (Bytewax-style): every step has a stable id, qualified by the flow name
 * (`orders.dedup`), so state and metrics stay addressable across releases.
 *
 * @example
 * const flow = new Dataflow('clicks');
 * flow.source('input', datagenSource({ generate }))
 *   .filter('valid', (c) => c.userId !== '')
 *   .keyBy((c) => c.userId)
 *   .apply('dedup', () => dedup({ ttlMs: 60_000 }))
 *   .sink('out', jsonlFileSink({ dir: 'out' }));
 */
export class Dataflow {
  private readonly nodes = new Map<string, GraphNode>();
  private everyKeyExchanged = false;

  constructor(readonly name: string) {
    if (!STEP_ID.test(name)) throw new JobDefinitionError(`Flow name '${name}' must match ${STEP_ID} (letters, digits, '-', '_').`);
  }

  /** Adds a source; every flow needs at least one. */
  source<T>(stepId: string, source: Source<T, unknown>): Stream<T> {
    const node: SourceNode = { kind: 'source', id: this.qualify(stepId), source: source as Source<unknown, unknown> };
    return new Stream<T>(this, this.register(node));
  }

  /** All nodes in declaration order (inputs always precede their consumers). */
  graph(): readonly GraphNode[] {
    return [...this.nodes.values()];
  }

  /** The nodes of one kind (e.g. every source), in declaration order. */
  nodesOf<K extends GraphNode['kind']>(kind: K): Extract<GraphNode, { kind: K }>[] {
    return this.graph().filter((n): n is Extract<GraphNode, { kind: K }> => n.kind === kind);
  }

  /**
   * Sends the records of every keyed step through the keyed exchange, also of steps declared
   * source-partitioned (KEYED_EXCHANGE=always: the topic is not keyed by their key).
   */
  exchangeEveryKey(): void {
    this.everyKeyExchanged = true;
  }

  /** Whether keyed step `node` keeps the keys of its subtask's splits, without a keyed exchange. */
  isSourcePartitioned(node: OperatorNode): boolean {
    return node.keySelector !== undefined && node.sourcePartitioned === true && !this.everyKeyExchanged;
  }

  /** Checks the graph is runnable: at least one source and one sink, every branch ends in a sink. */
  validate(): void {
    const nodes = this.graph();
    if (!nodes.some((n) => n.kind === 'source')) throw new JobDefinitionError(`Flow '${this.name}' has no source.`);
    if (!nodes.some((n) => n.kind === 'sink')) throw new JobDefinitionError(`Flow '${this.name}' has no sink: add .sink(...) to a stream.`);
  }

  /** @internal */
  qualify(stepId: string): string {
    if (!STEP_ID.test(stepId)) throw new JobDefinitionError(`Step id '${stepId}' in flow '${this.name}' must match ${STEP_ID}.`);
    const id = `${this.name}.${stepId}`;
    if (this.nodes.has(id)) throw new JobDefinitionError(`Step id '${stepId}' is used twice in flow '${this.name}'; step ids name state and must be unique.`);
    return id;
  }

  /** @internal */
  register<N extends GraphNode>(node: N): N {
    this.nodes.set(node.id, node);
    return node;
  }
}

/** How `keyBy` partitions a stream. */
export interface KeyByOptions {
  /**
   * The source already holds all records of a key in one split: a Kafka topic whose messages are
   * keyed by this key (the producer's partitioner puts a key in one partition). Parallel subtasks
   * then keep the keys of the splits they read, and no record crosses threads (Flink's
   * `reinterpretAsKeyedStream`); keyed state moves with its split on a restart at another
   * parallelism. A key found under two splits is counted (`streamline_state_split_conflicts_total`)
   * but, across subtasks, not merged: only declare what the producer guarantees.
   */
  readonly sourcePartitioned?: boolean;
}

/** A stream of records of type T; each method adds one step and returns the step's output. */
export class Stream<T> {
  constructor(
    protected readonly flow: Dataflow,
    /** @internal */ readonly node: GraphNode,
  ) {}

  map<U>(stepId: string, fn: (record: T) => U): Stream<U> {
    return this.apply(stepId, () => mapOperator(fn), false);
  }

  filter(stepId: string, predicate: (record: T) => boolean): Stream<T> {
    return this.apply(stepId, () => filterOperator(predicate), false);
  }

  flatMap<U>(stepId: string, fn: (record: T) => Iterable<U>): Stream<U> {
    return this.apply(stepId, () => flatMapOperator(fn), false);
  }

  /** Partitions the stream by key: operators applied to the result get keyed state. */
  keyBy(key: (record: T) => StateKey, options: KeyByOptions = {}): KeyedStream<T> {
    return new KeyedStream<T>(this.flow, this.node, key, options.sourcePartitioned === true);
  }

  /** Merges streams of the same type; checkpoint barriers are aligned across the inputs. */
  union(stepId: string, ...others: Stream<T>[]): Stream<T> {
    const node = this.flow.register({ kind: 'union', id: this.flow.qualify(stepId), inputs: [this.node, ...others.map((s) => s.node)] });
    return new Stream<T>(this.flow, node);
  }

  /**
   * Adds a custom operator. `create` is called once per run, so fresh and restored runs build
   * the operator the same way; `stateful` says whether it snapshots state.
   */
  apply<U>(stepId: string, create: () => Operator<T, U>, stateful = true): Stream<U> {
    const node: OperatorNode = {
      kind: 'operator',
      id: this.flow.qualify(stepId),
      input: this.node,
      createOperator: create as () => Operator<unknown, unknown>,
      keySelector: undefined,
      stateful,
    };
    return new Stream<U>(this.flow, this.flow.register(node));
  }

  /** Records an upstream operator emitted under `tag` (e.g. a window's late records). */
  sideOutput<U = unknown>(tag: string): Stream<U> {
    if (this.node.kind !== 'operator') throw new JobDefinitionError(`sideOutput('${tag}') must follow an operator step, not a ${this.node.kind}.`);
    const node = this.flow.register({ kind: 'side-output', id: this.flow.qualify(`${this.node.id.slice(this.flow.name.length + 1)}-${tag}`), input: this.node, tag });
    return new Stream<U>(this.flow, node);
  }

  /** Ends the stream in a sink; exactly-once sinks commit when checkpoints complete. */
  sink<C>(stepId: string, sink: TwoPhaseCommitSink<T, C>): void {
    const node: SinkNode = { kind: 'sink', id: this.flow.qualify(stepId), input: this.node, sink: sink as TwoPhaseCommitSink<unknown, unknown> };
    this.flow.register(node);
  }
}

/** A stream partitioned by key; operators applied to it see keyed state scoped to each record's key. */
export class KeyedStream<T> extends Stream<T> {
  constructor(
    flow: Dataflow,
    node: GraphNode,
    private readonly key: (record: T) => StateKey,
    private readonly sourcePartitioned = false,
  ) {
    super(flow, node);
  }

  override apply<U>(stepId: string, create: () => Operator<T, U>, stateful = true): Stream<U> {
    const node: OperatorNode = {
      kind: 'operator',
      id: this.flow.qualify(stepId),
      input: this.node,
      createOperator: create as () => Operator<unknown, unknown>,
      keySelector: this.key as (record: unknown) => StateKey,
      ...(this.sourcePartitioned ? { sourcePartitioned: true } : {}),
      stateful,
    };
    return new Stream<U>(this.flow, this.flow.register(node));
  }
}
