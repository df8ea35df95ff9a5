import type { Operator } from '../operator.js';
import type { TwoPhaseCommitSink } from '../sink.js';
import type { Source } from '../source.js';
import type { StateKey } from '../state/keyed-state-backend.js';

/** The logical job graph, as declared. The executor turns it into RxJS streams. */
export type GraphNode = SourceNode | OperatorNode | UnionNode | SideOutputNode | SinkNode;

interface NodeBase {
  /** Fully qualified step id: `<flow>.<step>`, unique in the job; names state and metrics. */
  readonly id: string;
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly source: Source<unknown, unknown>;
}

export interface OperatorNode extends NodeBase {
  readonly kind: 'operator';
  readonly input: GraphNode;
  readonly createOperator: () => Operator<unknown, unknown>;
  /** Set when the operator runs on a keyed stream: it gets keyed state. */
  readonly keySelector: ((record: unknown) => StateKey) | undefined;
  /**
   * For a keyed step: each key's records already arrive in one split of the source (see
   * KeyByOptions.sourcePartitioned), so no keyed exchange precedes the step.
   */
  readonly sourcePartitioned?: boolean;
  /** Whether the operator can have state (decides if it is part of every checkpoint). */
  readonly stateful: boolean;
}

export interface UnionNode extends NodeBase {
  readonly kind: 'union';
  readonly inputs: readonly GraphNode[];
}

export interface SideOutputNode extends NodeBase {
  readonly kind: 'side-output';
  readonly input: OperatorNode;
  readonly tag: string;
}

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly input: GraphNode;
  readonly sink: TwoPhaseCommitSink<unknown, unknown>;
}
