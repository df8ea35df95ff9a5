/**
 * How a keyed operator's state appears in its task snapshot: the section `keyed-chain` names the
 * state files of the checkpoint (a chain: base and deltas). Checkpoints of the previous format
 * hold the state itself in `keyed` (keys of no split) and `keyed@<split>` sections; both are read.
 */
import type { KeyedStateRestore } from '../state/keyed-state-backend.js';
import { decodeChain, encodeChain, STATE_CHAIN_VERSION, type StateChain } from '../state/snapshot/state-chain.js';
import type { StateSection } from './state-envelope.js';

export const KEYED_CHAIN_SECTION = 'keyed-chain';

export function chainSection(chain: StateChain): StateSection {
  return { name: KEYED_CHAIN_SECTION, version: STATE_CHAIN_VERSION, bytes: encodeChain(chain) };
}

/** The split of a previous-format keyed section, `''` for keys of no split; undefined for other sections. */
function splitOfLegacySection(name: string): string | undefined {
  if (name === 'keyed') return '';
  return name.startsWith('keyed@') ? name.slice('keyed@'.length) : undefined;
}

/**
 * What to restore a keyed backend from, given a task's sections; with `splits`, only the state of
 * those splits (group mode takes splits from several checkpoints).
 */
export function keyedRestoresOf(sections: ReadonlyMap<string, StateSection>, owner: string, splits?: readonly string[]): KeyedStateRestore[] {
  const chain = sections.get(KEYED_CHAIN_SECTION);
  if (chain !== undefined) return [{ kind: 'chain', input: { chain: decodeChain(chain.bytes, owner), ...(splits ? { splits } : {}) } }];
  const restores: KeyedStateRestore[] = [];
  for (const [name, section] of sections) {
    const split = splitOfLegacySection(name);
    if (split === undefined || (splits !== undefined && !splits.includes(split))) continue;
    restores.push({ kind: 'legacy', bytes: section.bytes, ...(split === '' ? {} : { split }) });
  }
  return restores;
}
