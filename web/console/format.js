// How values of the API are shown: statuses, roles, instants, hints.

const STATUS = Object.freeze({
  ACTIVE: { label: 'Active', className: 'badge badge-active' },
  EXPIRED: { label: 'Expired', className: 'badge badge-expired' },
  REVOKED: { label: 'Revoked', className: 'badge badge-revoked' },
});

export const TOKEN_STATUSES = Object.freeze(['ACTIVE', 'EXPIRED', 'REVOKED']);
export const ROLES = Object.freeze(['USER', 'ADMIN', 'SERVICE']);

const known = (table, key) => typeof key === 'string' && Object.hasOwn(table, key);

export function statusLabel(status) {
  return known(STATUS, status) ? STATUS[status].label : 'Unknown';
}

export function statusClass(status) {
  return known(STATUS, status) ? STATUS[status].className : 'badge badge-unknown';
}

const ROLE_LABELS = Object.freeze({ USER: 'User', ADMIN: 'Admin', SERVICE: 'Service' });

export function roleLabel(role) {
  return known(ROLE_LABELS, role) ? ROLE_LABELS[role] : 'Unknown';
}

const pad = (n) => String(n).padStart(2, '0');

// An RFC 3339 instant as "2026-12-07 13:48 UTC"; '' when unset or unreadable.
export function formatInstant(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

export function formatLastUsed(rfc3339) {
  return formatInstant(rfc3339) || 'Never';
}

// Initials for the avatar: "Ada Lovelace" -> "AL". Only letters and digits
// count (a display name is user input: "Bob <b>" is "B", not "B<").
export function initials(displayName, fallback = '?') {
  const chars = String(displayName || '').trim().split(/\s+/)
    .map((w) => (/[\p{L}\p{N}]/u.exec(w) || [''])[0])
    .filter(Boolean);
  if (chars.length === 0) return fallback;
  return chars.slice(0, 2).map((c) => c.toUpperCase()).join('');
}

// The badge beside an expiry date: "expires in 1 day", "expires in 5 days",
// in the two parts a narrow column may put on two lines.
export function expiresInParts(days) {
  return ['expires in', `${days} ${days === 1 ? 'day' : 'days'}`];
}

export function expiresInLabel(days) {
  return expiresInParts(days).join(' ');
}

// What a token with no scopes may do, in lists and the secret dialog.
export const FULL_ACCESS = 'full access';
