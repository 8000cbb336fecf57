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

// The warning threshold when GetProfile names none (a server older than
// expiry_warning_days): token-service's own default's largest, 7.
export const DEFAULT_EXPIRY_WARNING_DAYS = 7;

// The largest of GetProfile's expiryWarningDays: a token within that many
// days of its expiry gets a badge. Values that are not positive whole
// numbers are ignored.
export function warningThreshold(expiryWarningDays) {
  const days = (Array.isArray(expiryWarningDays) ? expiryWarningDays : [])
    .map(Number).filter((n) => Number.isInteger(n) && n > 0);
  return days.length > 0 ? Math.max(...days) : DEFAULT_EXPIRY_WARNING_DAYS;
}

// Days from `today` to `expiresOn`, both YYYY-MM-DD: the token's days left
// (it is EXPIRED from 00:00 UTC of its expiry date). NaN when either is not
// a date.
export function daysLeft(expiresOn, today) {
  if (!isDate(expiresOn) || !isDate(today)) return NaN;
  return Math.round((Date.parse(`${expiresOn}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
}

// The N of an "expires in N days" badge, or 0 for none: only an ACTIVE
// token within `threshold` days of its expiry has one. An ACTIVE token on
// or past its date by this browser's clock (ahead of the server's, which
// still called it ACTIVE) has less than a day left: 1.
export function expiryWarningDays(token, { today, threshold }) {
  if (!token || token.status !== 'ACTIVE') return 0;
  const left = daysLeft(token.expiresOn, today);
  if (Number.isNaN(left) || left > threshold) return 0;
  return Math.max(1, left);
}
