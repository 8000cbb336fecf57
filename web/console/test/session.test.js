import test from 'node:test';
import assert from 'node:assert/strict';
import { createSession, normalizeToken } from '../session.js';

function memoryStorage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

test('a pasted token is trimmed and loses a Bearer prefix', () => {
  assert.equal(normalizeToken('  utk_abc\n'), 'utk_abc');
  assert.equal(normalizeToken('Bearer utk_abc'), 'utk_abc');
  assert.equal(normalizeToken('bearer   utk_abc '), 'utk_abc');
  assert.equal(normalizeToken(undefined), '');
});

test('signing in stores the token; signing out removes it', () => {
  const storage = memoryStorage();
  const session = createSession(storage);
  assert.equal(session.token(), '');
  session.signIn(' utk_abc ');
  assert.equal(session.token(), 'utk_abc');
  assert.equal(storage.map.size, 1);
  session.signOut();
  assert.equal(session.token(), '');
  assert.equal(storage.map.size, 0);
});

test('a storage that throws reads as signed out', () => {
  const session = createSession({ getItem() { throw new Error('denied'); }, removeItem() { throw new Error('denied'); } });
  assert.equal(session.token(), '');
  session.signOut();
});
