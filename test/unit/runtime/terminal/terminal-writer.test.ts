import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalWriter } from '../../../../src/runtime/terminal/terminal-writer.js';

function capture(isTTY: boolean): { terminal: TerminalWriter; written: string[] } {
  const written: string[] = [];
  return { terminal: new TerminalWriter(99, { write: (text: string) => written.push(text) }, isTTY), written };
}

/** What a terminal shows after `writes`: carriage return and erase-line applied, line by line. */
function screen(writes: readonly string[]): string[] {
  const lines = [''];
  for (const ch of writes.join('').replace(/\x1b\[K/g, '\u0000')) {
    if (ch === '\n') lines.push('');
    else if (ch === '\r') lines[lines.length - 1] = '\u0001' + lines[lines.length - 1]!; // cursor to column 0
    else if (ch === '\u0000') lines[lines.length - 1] = lines[lines.length - 1]!.startsWith('\u0001') ? '' : lines[lines.length - 1]!; // erase from the cursor (always column 0 here)
    else lines[lines.length - 1] = lines[lines.length - 1]!.replace(/^\u0001/, '') + ch;
  }
  return lines.map((l) => l.replace(/^\u0001/, ''));
}

test('on a terminal the status line stays below the log lines and is redrawn in place', () => {
  const { terminal, written } = capture(true);
  terminal.write('first\n');
  terminal.setStatus('status 1');
  assert.deepEqual(screen(written), ['first', 'status 1']);
  terminal.write('second\n');
  assert.deepEqual(screen(written), ['first', 'second', 'status 1']);
  terminal.setStatus('status 2');
  assert.deepEqual(screen(written), ['first', 'second', 'status 2']);
  terminal.setStatus(undefined);
  terminal.write('third\n');
  assert.deepEqual(screen(written), ['first', 'second', 'third', '']);
});

test('elsewhere lines go out as they are and there is no status line', () => {
  const { terminal, written } = capture(false);
  terminal.write('{"a":1}\n');
  terminal.setStatus('ignored');
  terminal.write('{"b":2}\n');
  assert.deepEqual(written, ['{"a":1}\n', '{"b":2}\n']);
});
