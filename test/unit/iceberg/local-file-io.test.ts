import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFileIO, localPath, UnsupportedLocationError } from '../../../src/iceberg/local-file-io.js';

test('write/read/exists/delete on file:// and absolute paths, no temp files left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'icedata-io-'));
  try {
    const io = new LocalFileIO();
    const url = pathToFileURL(join(dir, 'a b', 'x.bin')).href;
    assert.equal(await io.exists(url), false);
    await io.write(url, Uint8Array.of(1, 2, 3));
    await io.write(url, Uint8Array.of(4, 5)); // overwrite replaces atomically
    assert.deepEqual([...(await io.read(join(dir, 'a b', 'x.bin')))], [4, 5]);
    assert.equal(await io.exists(url), true);
    assert.deepEqual(await readdir(join(dir, 'a b')), ['x.bin']);
    await io.delete(url);
    await io.delete(url); // idempotent
    assert.equal(await io.exists(url), false);
    await assert.rejects(io.read(url), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('relative and foreign-scheme locations are refused', () => {
  assert.throws(() => localPath('relative/path'), UnsupportedLocationError);
  assert.throws(() => localPath('s3://bucket/key'), UnsupportedLocationError);
  assert.equal(localPath('file:///tmp/x%20y'), '/tmp/x y');
});
