import test from 'node:test';
import assert from 'node:assert/strict';
import { checkScopes, NOT_HELD_REASON, scopeOptions, scopesHint } from '../scopes.js';

const CATALOGUE = ['things:read', 'things:write', 'admin:audit'];

test('signed in with a token without scopes, every scope of the catalogue can be chosen', () => {
  assert.deepEqual(scopeOptions(CATALOGUE, []), CATALOGUE.map((name) => ({ name, disabled: false, reason: '' })));
  assert.deepEqual(scopeOptions(CATALOGUE), scopeOptions(CATALOGUE, []));
  assert.deepEqual(scopeOptions([], []), []);
  // None chosen is fine: the new token has the user's full access.
  assert.equal(checkScopes([], []), '');
  assert.equal(checkScopes(['things:write'], []), '');
  assert.match(scopesHint([]), /without scopes has your full access/);
});

test('signed in with a scoped token, only its scopes can be chosen, and at least one must be', () => {
  const options = scopeOptions(CATALOGUE, ['things:read']);
  assert.deepEqual(options, [
    { name: 'things:read', disabled: false, reason: '' },
    { name: 'things:write', disabled: true, reason: NOT_HELD_REASON },
    { name: 'admin:audit', disabled: true, reason: NOT_HELD_REASON },
  ]);
  assert.match(NOT_HELD_REASON, /signed in with does not have this scope/);
  assert.equal(checkScopes(['things:read'], ['things:read']), '');
  assert.equal(checkScopes([], ['things:read']), 'Choose at least one scope.');
  assert.match(checkScopes(['things:read', 'things:write'], ['things:read']), /does not have things:write/);
  assert.match(scopesHint(['things:read']), /full access.*at least one of them/);
});

test('a scoped token holding a scope the catalogue no longer names offers only the catalogue', () => {
  assert.deepEqual(scopeOptions(['things:read'], ['gone:scope']), [{ name: 'things:read', disabled: true, reason: NOT_HELD_REASON }]);
});
