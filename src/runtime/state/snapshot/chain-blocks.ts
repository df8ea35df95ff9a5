/**
 * What a keyed backend reads at restore, the same for the heap and the disk backend: the blocks
 * of a chain's files, oldest file first, cut to the splits and key groups the backend owns.
 */
import { RestoreError } from '../../../errors.js';
import type { CheckpointStore } from '../../checkpoint-store.js';
import type { BlockFilter } from '../format/state-file-reader.js';
import { StateFileReader } from '../format/state-file-reader.js';
import type { StateBlock, StateInfo } from '../format/state-file.js';
import { inKeyGroupRange } from '../key-group.js';
import type { ChainInput } from './snapshot-files.js';

/** One restored block and the declaration of the state it belongs to. */
export interface ChainBlock {
  readonly info: StateInfo;
  readonly block: StateBlock;
}

/**
 * The blocks of `input`'s chain this backend keeps; later blocks override earlier ones.
 * Refuses a chain written with another `maxParallelism` (its key groups cannot be mapped).
 */
export async function* chainBlocks(input: ChainInput, maxParallelism: number, stepId: string, store: Pick<CheckpointStore, 'readSharedState'>): AsyncGenerator<ChainBlock> {
  const { chain } = input;
  if (chain.maxParallelism !== maxParallelism) {
    throw new RestoreError(`keyed state of '${stepId}' has maxParallelism ${chain.maxParallelism}, this backend ${maxParallelism}: key groups cannot be mapped`);
  }
  const filter = ownedBlocks(input);
  for (const file of chain.files) {
    const reader = new StateFileReader(store.readSharedState(file), `${file.scope}/${file.name}`);
    const infos = new Map((await reader.header()).states.map((s) => [s.name, s]));
    for (let block = await reader.next(filter); block !== undefined; block = await reader.next(filter)) {
      yield { info: infos.get(block.state)!, block };
    }
  }
}

/** The reader's filter for the splits and key groups of `input`; undefined when it keeps everything. */
function ownedBlocks(input: ChainInput): BlockFilter | undefined {
  const splits = input.splits === undefined ? undefined : new Set(input.splits);
  const groups = input.keyGroups;
  if (splits === undefined && groups === undefined) return undefined;
  return (_state, split, keyGroup) => (splits === undefined || splits.has(split)) && (groups === undefined || inKeyGroupRange(groups, keyGroup));
}
