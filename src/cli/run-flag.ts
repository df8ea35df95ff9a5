/**
 * One setting of `run.js`: a flag and an environment variable of the same meaning
 * (`--checkpoint-uri` ⇔ `CHECKPOINT_URI`); the flag wins over the environment.
 */
export interface RunFlag {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  /** Value shown in --help; not applied here (the consumer applies its default). */
  readonly default?: string;
  readonly secret?: boolean;
}
