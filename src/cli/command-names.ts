/**
 * The words `node dist/run.js` takes before a job, apart from running it: kept apart from the
 * commands themselves, so that a run can tell them from a job without loading them.
 */

/** `maintain <job>`: one maintenance pass over the job's tables (maintain-command.ts). */
export const MAINTAIN_COMMAND = 'maintain';

/** The operator commands (operator-command.ts). */
export const OPERATOR_COMMANDS = ['check', 'inspect'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

export function isOperatorCommand(word: string | undefined): word is OperatorCommand {
  return OPERATOR_COMMANDS.some((c) => c === word);
}
