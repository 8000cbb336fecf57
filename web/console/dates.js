// Calendar dates as the API speaks them: 'YYYY-MM-DD', in UTC. A token that
// "expires on" a date works until 23:59:59 UTC of the day before.

export const DEFAULT_MAX_LIFETIME_DAYS = 365;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function utcDate(instant) {
  return new Date(instant).toISOString().slice(0, 10);
}

export function isDate(text) {
  const m = DATE.exec(text || '');
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return utcDate(d) === text;
}

export function addDays(date, days) {
  const [y, m, d] = date.split('-').map(Number);
  return utcDate(Date.UTC(y, m - 1, d + days));
}

// The dates the Create API Token dialog offers: from tomorrow (UTC) to
// `latestExpiresOn`, the latest date the server allows this caller
// (GetProfile's: its lifetime limit, and no later than the token the console
// is signed in with). Without one (a server older than that field), today +
// the default lifetime limit. `max` < `min` means no date is possible.
export function expiryBounds(now, latestExpiresOn = '') {
  const today = utcDate(now);
  const min = addDays(today, 1);
  const max = isDate(latestExpiresOn) ? latestExpiresOn : addDays(today, DEFAULT_MAX_LIFETIME_DAYS);
  return { min, max };
}

// A message for a date outside the bounds, or '' when it is inside.
export function checkExpiry(date, { min, max }) {
  if (!date) return 'Choose an expiry date.';
  if (!isDate(date)) return 'Enter a date as YYYY-MM-DD.';
  if (date < min) return `The expiry date must be after today: ${min} or later.`;
  if (date > max) return `The expiry date can be ${max} at the latest.`;
  return '';
}
