/**
 * Task ids: a step's id (`orders.dedup`), or one parallel subtask's share of it
 * (`orders.dedup#2`), as checkpoints name their states.
 */

/** `orders.dedup` of `orders.dedup#2`: the step a (subtask's) task state belongs to. */
export function baseTaskId(taskId: string): string {
  const hash = taskId.indexOf('#');
  return hash < 0 ? taskId : taskId.slice(0, hash);
}
