import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFileIO, localPath, UnsupportedLocationError } from '../../../src/iceberg/local-file-io.js';
import { OutputFileClosedError } from '../../../src/iceberg/local-output-file.js';

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

test('an output file grows as a temp file, appears complete at close, and abort leaves nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'icedata-out-'));
  try {
    const io = new LocalFileIO();
    const target = join(dir, 'data', 'f.parquet');
    const file = io.create(target);
    await file.write(Uint8Array.of(1, 2));
    await file.write(Uint8Array.of(3));
    const [temp, ...others] = await readdir(join(dir, 'data'));
    assert.deepEqual(others, []);
    assert.match(temp!, /^f\.parquet\..+\.tmp$/, 'only a temp file while open');
    assert.equal(await io.exists(target), false);
    assert.equal(await file.close(), 3);
    assert.deepEqual([...(await io.read(target))], [1, 2, 3]);
    assert.deepEqual(await readdir(join(dir, 'data')), ['f.parquet']);
    await file.abort(); // no-op once closed
    assert.equal(await io.exists(target), true);

    const aborted = io.create(join(dir, 'data', 'g.parquet'));
    await aborted.write(Uint8Array.of(9));
    await aborted.abort();
    assert.deepEqual(await readdir(join(dir, 'data')), ['f.parquet']);
    await assert.rejects(aborted.write(Uint8Array.of(1)), OutputFileClosedError);
    await assert.rejects(aborted.close(), OutputFileClosedError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
