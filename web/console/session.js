// The signed-in token. It lives in sessionStorage only (this tab, gone when
// the tab closes), is never put in a URL, and signing out removes it.
// Secrets shown after CreateToken or RotateToken never come here.

const KEY = 'userTokens.bearer';

// A pasted token may carry spaces, a line break or a "Bearer " prefix.
export function normalizeToken(input) {
  return String(input || '').trim().replace(/^bearer\s+/i, '').trim();
}

export function createSession(storage) {
  return {
    token() {
      try {
        return storage.getItem(KEY) || '';
      } catch {
        return '';
      }
    },
    signIn(token) {
      storage.setItem(KEY, normalizeToken(token));
    },
    signOut() {
      try {
        storage.removeItem(KEY);
      } catch {
        // Storage that refuses to be read holds nothing to remove.
      }
    },
  };
}
