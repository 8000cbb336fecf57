import test from 'node:test';
import assert from 'node:assert/strict';
import { isAdminRoute, routeOf, ROUTES } from '../router.js';
import { PageCursor } from '../paging.js';

test('hash routes name screens only', () => {
  assert.equal(routeOf('#/profile'), 'profile');
  assert.equal(routeOf('#/admin/tokens'), 'adminTokens');
  assert.equal(routeOf('#/admin/users'), 'adminUsers');
  assert.equal(routeOf(''), 'profile');
  assert.equal(routeOf('#/admin/tokens?token=utk_x'), 'profile');
  assert.equal(routeOf('#constructor'), 'profile');
  assert.ok(isAdminRoute('adminTokens'));
  assert.ok(!isAdminRoute('profile'));
  for (const hash of Object.values(ROUTES)) assert.match(hash, /^#\/[a-z/]+$/);
});

test('the cursor walks pages forward with next_page_token and back from memory', () => {
  const c = new PageCursor();
  assert.equal(c.current, '');
  assert.ok(!c.hasPrevious);
  assert.ok(!c.hasNext);
  assert.ok(!c.forward());
  c.loaded('t2');
  assert.ok(c.hasNext);
  assert.ok(c.forward());
  assert.equal(c.current, 't2');
  assert.equal(c.page, 2);
  c.loaded('t3');
  c.forward();
  c.loaded('');
  assert.equal(c.current, 't3');
  assert.ok(!c.hasNext);
  assert.ok(c.back());
  assert.equal(c.current, 't2');
  c.loaded('t3b');
  c.forward();
  assert.deepEqual(c.tokens, ['', 't2', 't3b']);
  c.reset();
  assert.equal(c.current, '');
  assert.equal(c.page, 1);
});
