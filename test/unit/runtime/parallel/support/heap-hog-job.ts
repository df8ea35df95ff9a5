/**
 * A job module that never finishes loading: it keeps allocating and holding memory, as a subtask
 * whose live data outgrows its heap. Only for tests of SUBTASK_HEAP_MB (a limited heap).
 */
const held: number[][] = [];
for (;;) held.push(Array.from({ length: 100_000 }, (_, i) => i + held.length));
