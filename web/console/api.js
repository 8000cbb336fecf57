// The client of token-service's HTTP face: Connect-protocol unary calls with
// JSON bodies (protobuf's canonical JSON mapping), the bearer token in the
// Authorization header, errors in Connect's JSON error form. `fetch` is
// injected so tests can see every request and answer it.

export const TOKEN_SERVICE = 'tokens.v1.TokenService';
export const USER_SERVICE = 'tokens.v1.UserService';

// Connect's error codes and the HTTP status each is sent with.
export const HTTP_STATUS_OF_CODE = Object.freeze({
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
});

// Connect's mapping for an error answer whose body names no code (a proxy's
// page, say).
export function codeFromHttpStatus(status) {
  switch (status) {
    case 400: return 'internal';
    case 401: return 'unauthenticated';
    case 403: return 'permission_denied';
    case 404: return 'unimplemented';
    case 429: case 502: case 503: case 504: return 'unavailable';
    default: return 'unknown';
  }
}

const DEFAULT_MESSAGES = Object.freeze({
  unauthenticated: 'Your session is not valid. Sign in again.',
  permission_denied: 'You do not have permission to do this.',
  unavailable: 'The service is unavailable. Try again in a moment.',
  not_found: 'Not found.',
});

export class ApiError extends Error {
  constructor({ code, message, httpStatus = 0, fieldViolations = [], network = false }) {
    super(message || DEFAULT_MESSAGES[code] || `The request failed (${code}).`);
    this.name = 'ApiError';
    this.code = code;
    this.httpStatus = httpStatus;
    // [{field: 'expires_on', description: '...'}], as the server named them.
    this.fieldViolations = fieldViolations;
    // True when no answer arrived at all.
    this.network = network;
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_.]*$/;
// A header value must be visible ASCII: this keeps a pasted line break or
// space out of the Authorization header.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

// The fetch() arguments of one unary call.
export function buildRequest({ baseUrl = '', service, method, body = {}, token }) {
  if (!NAME.test(service) || !NAME.test(method)) {
    throw new Error(`not a method name: ${service}/${method}`);
  }
  const headers = {
    'Content-Type': 'application/json',
    'Accept': 'application/json',
    'Connect-Protocol-Version': '1',
  };
  if (token !== undefined && token !== null && token !== '') {
    if (!TOKEN_CHARS.test(token)) throw new ApiError({ code: 'unauthenticated', message: 'The token contains characters no token has.' });
    headers.Authorization = `Bearer ${token}`;
  }
  return {
    url: `${baseUrl}/${service}/${method}`,
    init: {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    },
  };
}

function fieldViolationsOf(details) {
  const out = [];
  if (!Array.isArray(details)) return out;
  for (const detail of details) {
    if (!detail || typeof detail !== 'object') continue;
    const type = String(detail.type || '').replace(/^type\.googleapis\.com\//, '');
    if (type !== 'google.rpc.BadRequest') continue;
    const debug = detail.debug;
    const list = debug && (debug.fieldViolations || debug.field_violations);
    if (!Array.isArray(list)) continue;
    for (const v of list) {
      if (v && typeof v.field === 'string') {
        out.push({ field: v.field, description: typeof v.description === 'string' ? v.description : '' });
      }
    }
  }
  return out;
}

// The ApiError of a non-200 answer, from its status and body text.
export function parseError(httpStatus, bodyText) {
  let body = null;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = null;
  }
  const known = body && typeof body.code === 'string' && Object.hasOwn(HTTP_STATUS_OF_CODE, body.code);
  const code = known ? body.code : codeFromHttpStatus(httpStatus);
  const message = body && typeof body.message === 'string' && body.message ? body.message : undefined;
  return new ApiError({
    code,
    message,
    httpStatus,
    fieldViolations: known ? fieldViolationsOf(body.details) : [],
  });
}

// One client. getToken() is asked on every call, so signing out takes
// effect at once.
export function createApi({ fetch, getToken, baseUrl = '' }) {
  async function call(service, method, body = {}) {
    const { url, init } = buildRequest({ baseUrl, service, method, body, token: getToken() });
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new ApiError({
        code: 'unavailable',
        network: true,
        message: 'Could not reach the server. Check your connection and try again.',
      });
    }
    const text = await response.text();
    if (response.status !== 200) throw parseError(response.status, text);
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError({ code: 'internal', httpStatus: 200, message: 'The server sent an answer that is not JSON.' });
    }
  }

  const tokens = (method, body) => call(TOKEN_SERVICE, method, body);
  const users = (method, body) => call(USER_SERVICE, method, body);
  return {
    call,
    getProfile: () => tokens('GetProfile', {}),
    listScopes: () => tokens('ListScopes', {}),
    listTokens: (filters) => tokens('ListTokens', listTokensBody(filters)),
    createToken: (req) => tokens('CreateToken', createTokenBody(req)),
    revokeToken: (id) => tokens('RevokeToken', { id }),
    rotateToken: (id) => tokens('RotateToken', { id }),
    listUsers: (page) => users('ListUsers', pageBody(page)),
    createUser: (req) => users('CreateUser', createUserBody(req)),
    updateUser: (userId, changes) => users('UpdateUser', updateUserBody(userId, changes)),
  };
}

// Request bodies in the canonical JSON mapping: lowerCamelCase names, enums
// by name, defaults left out.
function compact(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || v === '' || v === false || v === 0) continue;
    out[k] = v;
  }
  return out;
}

function pageBody({ pageSize, pageToken } = {}) {
  return compact({ pageSize, pageToken });
}

// filters: {allUsers, userId, status ('ACTIVE'...), nameContains,
// expiresBefore ('YYYY-MM-DD'), pageSize, pageToken}
export function listTokensBody(filters = {}) {
  return compact({
    pageSize: filters.pageSize,
    pageToken: filters.pageToken,
    allUsers: filters.allUsers && !filters.userId ? true : undefined,
    userId: filters.userId ? filters.userId.trim() : undefined,
    status: filters.status && filters.status !== 'TOKEN_STATUS_UNSPECIFIED' ? filters.status : undefined,
    nameContains: filters.nameContains,
    expiresBefore: filters.expiresBefore,
  });
}

export function createTokenBody({ name, expiresOn, userId, scopes }) {
  // The name is sent as typed: the server trims and normalises it, and its
  // field errors then speak of what the user wrote. No scopes: the field is
  // left out, and the token has its owner's full access.
  return compact({
    name,
    expiresOn,
    userId: userId ? userId.trim() : undefined,
    scopes: Array.isArray(scopes) && scopes.length > 0 ? [...scopes] : undefined,
  });
}

export function createUserBody({ userId, displayName, email, role }) {
  return compact({ userId: (userId || '').trim(), displayName, email, role });
}

const UPDATABLE_USER_FIELDS = ['displayName', 'email', 'role', 'disabled'];

// UpdateUser as AIP-134: the new values in `user`, the names of the fields
// to change in `updateMask` (a FieldMask's JSON form: lowerCamelCase paths
// joined by commas). A named field is sent even when false or empty: the
// mask, not presence, says what changes.
export function updateUserBody(userId, changes) {
  const user = { userId };
  const paths = [];
  for (const field of UPDATABLE_USER_FIELDS) {
    if (!Object.hasOwn(changes, field)) continue;
    user[field] = changes[field];
    paths.push(field);
  }
  if (paths.length === 0) throw new Error('UpdateUser needs at least one field to change');
  return { user, updateMask: paths.join(',') };
}
