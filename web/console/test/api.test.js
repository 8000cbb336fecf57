import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiError, buildRequest, codeFromHttpStatus, createApi, createTokenBody, HTTP_STATUS_OF_CODE, listTokensBody, parseError, updateUserBody,
} from '../api.js';

// A fetch that records its calls and answers from a queue.
function fakeFetch(...answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, body: JSON.parse(init.body) });
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return { status: a.status ?? 200, text: async () => (typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {})) };
  };
  return { fetch, calls };
}

test('a unary call is a Connect POST with a JSON body and the bearer header', () => {
  const { url, init } = buildRequest({ service: 'tokens.v1.TokenService', method: 'ListTokens', body: { pageSize: 5 }, token: 'utk_abc' });
  assert.equal(url, '/tokens.v1.TokenService/ListTokens');
  assert.equal(init.method, 'POST');
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.equal(init.headers['Connect-Protocol-Version'], '1');
  assert.equal(init.headers.Authorization, 'Bearer utk_abc');
  assert.equal(init.body, '{"pageSize":5}');
  // No cookies, no referrer, no cached answers (they may hold a secret).
  assert.equal(init.credentials, 'omit');
  assert.equal(init.referrerPolicy, 'no-referrer');
  assert.equal(init.cache, 'no-store');
});

test('without a token there is no Authorization header', () => {
  const { init } = buildRequest({ service: 'tokens.v1.TokenService', method: 'GetProfile', token: '' });
  assert.equal(init.headers.Authorization, undefined);
  assert.equal(init.body, '{}');
});

test('a token with a space or line break is refused before any request', () => {
  assert.throws(() => buildRequest({ service: 'a.B', method: 'C', token: 'utk_a\r\nX-Evil: 1' }), ApiError);
  assert.throws(() => buildRequest({ service: 'a.B', method: 'C', token: 'utk a' }), ApiError);
});

test('method and service names cannot change the path', () => {
  assert.throws(() => buildRequest({ service: '../x', method: 'M' }));
  assert.throws(() => buildRequest({ service: 'a.B', method: 'M?x=1' }));
});

test('ListTokens filters are sent in the JSON mapping and defaults are left out', () => {
  assert.deepEqual(listTokensBody({ allUsers: true, status: 'REVOKED', nameContains: 'qa', expiresBefore: '2027-01-01', pageSize: 25, pageToken: 'p2' }),
    { allUsers: true, status: 'REVOKED', nameContains: 'qa', expiresBefore: '2027-01-01', pageSize: 25, pageToken: 'p2' });
  assert.deepEqual(listTokensBody({}), {});
  assert.deepEqual(listTokensBody({ status: '', nameContains: '', pageToken: '' }), {});
  // One user's tokens: user_id, not all_users.
  assert.deepEqual(listTokensBody({ allUsers: true, userId: ' alice ' }), { userId: 'alice' });
});

test('CreateToken carries the chosen scopes, and leaves the field out when none is chosen', () => {
  assert.deepEqual(createTokenBody({ name: 'ci', expiresOn: '2027-01-01', userId: '', scopes: ['things:read', 'things:write'] }),
    { name: 'ci', expiresOn: '2027-01-01', scopes: ['things:read', 'things:write'] });
  // No scope: the owner's full access, and no `scopes` in the body.
  assert.deepEqual(createTokenBody({ name: 'ci', expiresOn: '2027-01-01', scopes: [] }), { name: 'ci', expiresOn: '2027-01-01' });
  assert.deepEqual(createTokenBody({ name: 'ci', expiresOn: '2027-01-01' }), { name: 'ci', expiresOn: '2027-01-01' });
  assert.deepEqual(createTokenBody({ name: 'ci', expiresOn: '2027-01-01', userId: ' bob ', scopes: ['things:read'] }),
    { name: 'ci', expiresOn: '2027-01-01', userId: 'bob', scopes: ['things:read'] });
});

test('UpdateUser sends the user and a FieldMask of lowerCamelCase paths', () => {
  assert.deepEqual(updateUserBody('alice', { role: 'ADMIN', disabled: false }),
    { user: { userId: 'alice', role: 'ADMIN', disabled: false }, updateMask: 'role,disabled' });
  assert.deepEqual(updateUserBody('bob', { displayName: 'Bob', email: '' }),
    { user: { userId: 'bob', displayName: 'Bob', email: '' }, updateMask: 'displayName,email' });
  assert.throws(() => updateUserBody('bob', {}));
  assert.throws(() => updateUserBody('bob', { userId: 'eve' }));
});

test('the client asks for the token on every call and parses the answer', async () => {
  const { fetch, calls } = fakeFetch({ body: { userId: 'admin', role: 'ADMIN' } }, { body: { tokens: [] } });
  let token = 'utk_one';
  const api = createApi({ fetch, getToken: () => token });
  assert.deepEqual(await api.getProfile(), { userId: 'admin', role: 'ADMIN' });
  token = 'utk_two';
  await api.listTokens({ allUsers: true });
  assert.equal(calls[0].init.headers.Authorization, 'Bearer utk_one');
  assert.equal(calls[1].init.headers.Authorization, 'Bearer utk_two');
  assert.equal(calls[1].url, '/tokens.v1.TokenService/ListTokens');
  assert.deepEqual(calls[1].body, { allUsers: true });
});

test('each method goes to its service', async () => {
  const { fetch, calls } = fakeFetch(...Array.from({ length: 8 }, () => ({ body: {} })));
  const api = createApi({ fetch, getToken: () => 't' });
  await api.createToken({ name: 'ci', expiresOn: '2027-01-01', userId: '', scopes: ['things:read'] });
  await api.revokeToken('id1');
  await api.rotateToken('id2');
  await api.listUsers({ pageSize: 50, pageToken: '' });
  await api.createUser({ userId: ' bob ', displayName: 'Bob', email: '', role: 'USER' });
  await api.updateUser('bob', { disabled: true });
  await api.call('tokens.v1.TokenService', 'GetToken', { id: 'x' });
  await api.listScopes();
  assert.deepEqual(calls.map((c) => c.url), [
    '/tokens.v1.TokenService/CreateToken', '/tokens.v1.TokenService/RevokeToken', '/tokens.v1.TokenService/RotateToken',
    '/tokens.v1.UserService/ListUsers', '/tokens.v1.UserService/CreateUser', '/tokens.v1.UserService/UpdateUser',
    '/tokens.v1.TokenService/GetToken', '/tokens.v1.TokenService/ListScopes',
  ]);
  assert.deepEqual(calls.map((c) => c.body), [
    { name: 'ci', expiresOn: '2027-01-01', scopes: ['things:read'] }, { id: 'id1' }, { id: 'id2' }, { pageSize: 50 },
    { userId: 'bob', displayName: 'Bob', role: 'USER' }, { user: { userId: 'bob', disabled: true }, updateMask: 'disabled' },
    { id: 'x' }, {},
  ]);
});

test('a Connect error gives its code, message and the BadRequest field violations from debug', async () => {
  const body = {
    code: 'invalid_argument',
    message: 'expires_on: expiry date must be after 2026-12-07',
    details: [
      { type: 'google.rpc.ErrorInfo', value: 'AAA=' },
      { type: 'google.rpc.BadRequest', value: 'CgoKBG5hbWU=', debug: { fieldViolations: [{ field: 'expires_on', description: 'expiry date must be after 2026-12-07' }] } },
    ],
  };
  const { fetch } = fakeFetch({ status: 400, body });
  const api = createApi({ fetch, getToken: () => 't' });
  await assert.rejects(api.createToken({ name: 'x', expiresOn: '2026-12-07' }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'invalid_argument');
    assert.equal(err.httpStatus, 400);
    assert.equal(err.message, 'expires_on: expiry date must be after 2026-12-07');
    assert.deepEqual(err.fieldViolations, [{ field: 'expires_on', description: 'expiry date must be after 2026-12-07' }]);
    return true;
  });
});

test('without debug the violations are empty and the message stands', () => {
  const err = parseError(400, JSON.stringify({ code: 'invalid_argument', message: 'name: must not be empty', details: [{ type: 'google.rpc.BadRequest', value: 'CgYKBG5hbWU=' }] }));
  assert.deepEqual(err.fieldViolations, []);
  assert.equal(err.message, 'name: must not be empty');
});

test('a prefixed detail type and snake_case debug are read too', () => {
  const err = parseError(409, JSON.stringify({
    code: 'already_exists', message: 'taken',
    details: [{ type: 'type.googleapis.com/google.rpc.BadRequest', debug: { field_violations: [{ field: 'user_id', description: 'is taken' }] } }],
  }));
  assert.equal(err.code, 'already_exists');
  assert.deepEqual(err.fieldViolations, [{ field: 'user_id', description: 'is taken' }]);
});

test('malformed details are ignored', () => {
  const err = parseError(400, JSON.stringify({ code: 'invalid_argument', message: 'm', details: [null, 7, { type: 'google.rpc.BadRequest', debug: { fieldViolations: [null, { field: 3 }, { field: 'name' }] } }] }));
  assert.deepEqual(err.fieldViolations, [{ field: 'name', description: '' }]);
  assert.deepEqual(parseError(400, JSON.stringify({ code: 'invalid_argument', details: 'x' })).fieldViolations, []);
});

test('an answer that is not a Connect error takes its code from the HTTP status', () => {
  const html = parseError(502, '<html>Bad gateway</html>');
  assert.equal(html.code, 'unavailable');
  assert.match(html.message, /unavailable/i);
  assert.equal(parseError(401, '').code, 'unauthenticated');
  assert.equal(parseError(403, 'nope').code, 'permission_denied');
  assert.equal(parseError(418, '{"code":"teapot"}').code, 'unknown');
  assert.equal(codeFromHttpStatus(404), 'unimplemented');
  assert.equal(codeFromHttpStatus(400), 'internal');
});

test('every code has the HTTP status Connect gives it', () => {
  assert.equal(HTTP_STATUS_OF_CODE.unauthenticated, 401);
  assert.equal(HTTP_STATUS_OF_CODE.permission_denied, 403);
  assert.equal(HTTP_STATUS_OF_CODE.invalid_argument, 400);
  assert.equal(HTTP_STATUS_OF_CODE.not_found, 404);
  assert.equal(HTTP_STATUS_OF_CODE.already_exists, 409);
  assert.equal(HTTP_STATUS_OF_CODE.resource_exhausted, 429);
  assert.equal(HTTP_STATUS_OF_CODE.unavailable, 503);
  assert.equal(Object.keys(HTTP_STATUS_OF_CODE).length, 16);
});

test('a network failure is unavailable and says the server could not be reached', async () => {
  const { fetch } = fakeFetch(new TypeError('Failed to fetch'));
  const api = createApi({ fetch, getToken: () => 't' });
  await assert.rejects(api.getProfile(), (err) => err.code === 'unavailable' && err.network === true && /reach the server/.test(err.message));
});

test('a 200 answer that is not JSON is an internal error', async () => {
  const { fetch } = fakeFetch({ status: 200, body: '<html>' });
  const api = createApi({ fetch, getToken: () => 't' });
  await assert.rejects(api.getProfile(), (err) => err.code === 'internal');
});

test('unauthenticated and permission denied errors keep the server message', () => {
  const a = parseError(401, JSON.stringify({ code: 'unauthenticated', message: 'token expired' }));
  assert.equal(a.code, 'unauthenticated');
  assert.equal(a.message, 'token expired');
  const p = parseError(403, JSON.stringify({ code: 'permission_denied' }));
  assert.equal(p.message, 'You do not have permission to do this.');
});
