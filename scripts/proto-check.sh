#!/usr/bin/env bash
# The public protos' checks (proto/README.md): `buf lint`, then `buf
# breaking` of the working tree against a baseline commit. Offline: buf reads
# the baseline from this repository's own .git.
#
#   scripts/proto-check.sh [--against REF]
#
# A breaking change made on purpose is acknowledged in the commit that makes
# it, by a trailer line naming why:
#   Breaking-Proto-Change: <why>
# There is no standing exception in proto/buf.yaml.
#
# The baseline: --against REF (or PROTO_BREAKING_AGAINST), or, on a branch,
# its merge base with origin/main (a branch is held to the main it will merge
# into); the newest acknowledging commit after that baseline replaces it, so
# what it changed passes and every later change is checked again. On main
# itself (CI's fresh clone) the baseline is the newest acknowledging commit in
# the whole history, so every commit since the last deliberate break is
# checked, however many landed together; HEAD~1 only if there is none.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

against="${PROTO_BREAKING_AGAINST:-}"
while (($#)); do
  case "$1" in
    --against) against="${2:?--against needs a git ref}"; shift 2 ;;
    --against=*) against="${1#--against=}"; shift ;;
    *) die "unknown argument: $1 (usage: scripts/proto-check.sh [--against REF])" ;;
  esac
done

command -v buf >/dev/null 2>&1 || die "buf not found: scripts/install-deps.sh installs it"

log "buf lint proto"
buf lint proto

newest_acknowledged() {  # [RANGE]: the newest commit with the trailer
  git log -1 --format=%H --grep='^Breaking-Proto-Change:' "${1:-HEAD}"
}

if [[ -z "$against" ]] && git rev-parse -q --verify origin/main >/dev/null; then
  merge_base="$(git merge-base HEAD origin/main)"
  # On main itself (a fresh clone of it), the merge base is HEAD.
  [[ "$merge_base" == "$(git rev-parse HEAD)" ]] || against="$merge_base"
fi
if [[ -z "$against" ]]; then
  against="$(newest_acknowledged)"
  [[ -n "$against" ]] || against="HEAD~1"
fi
base="$(git rev-parse -q --verify "${against}^{commit}")" ||
  die "no baseline commit '$against' (a shallow clone? fetch more history, or pass --against REF)"

accepted="$(newest_acknowledged "$base..HEAD")"
if [[ -n "$accepted" ]]; then
  log "breaking changes accepted by $(git log -1 --format='%h %s' "$accepted" | cut -c1-72):"
  git log -1 --format=%B "$accepted" | sed -n 's/^Breaking-Proto-Change:/  /p' >&2
  base="$accepted"
fi

# --against-config: the baseline is read with today's buf.yaml, so it
# excludes what today's module excludes (third_party/, examples/), even at a
# commit that had no buf.yaml.
log "buf breaking proto --against .git#ref=$(git rev-parse --short "$base"),subdir=proto"
buf breaking proto --against ".git#ref=$base,subdir=proto" --against-config proto/buf.yaml ||
  die "breaking changes against $(git rev-parse --short "$base") (above). If deliberate, say why" \
    "in the commit that makes them, in a 'Breaking-Proto-Change: <why>' trailer (proto/README.md)"
log "protos: lint and breaking checks passed"
