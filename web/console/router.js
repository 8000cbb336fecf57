// The console's screens as hash routes. The hash holds only a screen's
// name: never a token, a secret or a filter value.

export const ROUTES = Object.freeze({
  profile: '#/profile',
  adminTokens: '#/admin/tokens',
  adminUsers: '#/admin/users',
});

const BY_HASH = Object.freeze(Object.fromEntries(Object.entries(ROUTES).map(([k, v]) => [v, k])));

// '#/admin/tokens' -> 'adminTokens'; anything unknown -> 'profile'.
export function routeOf(hash) {
  return Object.hasOwn(BY_HASH, hash) ? BY_HASH[hash] : 'profile';
}

export function isAdminRoute(route) {
  return route === 'adminTokens' || route === 'adminUsers';
}
