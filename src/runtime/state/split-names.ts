/**
 * The source splits (Kafka partitions) a backend has seen, each with a small index (what
 * changelogs and state records carry), and the split being processed. Which split a key's state
 * belongs to is the backend's to keep (heap: KeyRows; disk: in each record).
 */
export class SplitNames {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  private current = -1;

  /** Index of the split being processed (-1: none). */
  get currentSplit(): number {
    return this.current;
  }

  setCurrent(split: string | undefined): void {
    this.current = split === undefined ? -1 : this.idOf(split);
  }

  idOf(split: string): number {
    let id = this.ids.get(split);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(split, id);
      this.names.push(split);
    }
    return id;
  }
}
