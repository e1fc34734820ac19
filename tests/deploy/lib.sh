# shellcheck shell=bash
# Shared by tests/deploy/topology and tests/deploy/published-ports (sourced; they define die
# and log first): livekit-server at the version tests/e2e pins, and docker/agent's npm packages.
# Each installs under a lock, so the two can start together (ctest -j).

deploy_lock() {   # until deploy_unlock, or the calling script's exit
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/roomgate
  mkdir -p "$dir"
  exec {DEPLOY_LOCK_FD}>"$dir/deploy-install.lock"
  flock "$DEPLOY_LOCK_FD" || die "flock $dir/deploy-install.lock failed"
}
deploy_unlock() { exec {DEPLOY_LOCK_FD}>&-; }

# Sets LIVEKIT_SERVER_BIN: as given, else livekit-server $LK_VERSION from its Go module (cached
# in $(go env GOPATH)/bin, go install the first time).
deploy_livekit_server() {
  local module=github.com/livekit/livekit-server version
  version=$(sed -n 's/^LK_VERSION=//p' "$REPO/tests/e2e/run")   # the version e2e pins
  if [[ -n ${LIVEKIT_SERVER_BIN:-} ]]; then
    [[ -x $LIVEKIT_SERVER_BIN ]] || die "LIVEKIT_SERVER_BIN=$LIVEKIT_SERVER_BIN is not executable"
    return 0
  fi
  is_pinned_server() {
    [[ -x $1 ]] && go version -m "$1" 2>/dev/null \
      | awk -v m="$module" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }'
  }
  rg_ensure_go >&2 || die "the Go toolchain is required to build livekit-server"
  local dir
  dir=$(go env GOBIN)
  [[ -n $dir ]] || dir=$(go env GOPATH)/bin
  LIVEKIT_SERVER_BIN=$dir/server
  deploy_lock
  if ! is_pinned_server "$LIVEKIT_SERVER_BIN"; then
    log "installing $module/cmd/server@$version with go install (takes minutes the first time)"
    go install "$module/cmd/server@$version" || die "go install $module/cmd/server@$version failed"
    is_pinned_server "$LIVEKIT_SERVER_BIN" || die "$LIVEKIT_SERVER_BIN is not livekit-server $version"
  fi
  deploy_unlock
  export LIVEKIT_SERVER_BIN
}

# `npm ci` in docker/agent (pinned by its package-lock.json), skipped while node_modules
# matches the lock file and this Node.
deploy_agent_modules() {
  local dir=$REPO/docker/agent stamp
  stamp=$( (cat "$dir/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)
  deploy_lock
  if [[ ! -f $dir/node_modules/.topology-stamp || $(cat "$dir/node_modules/.topology-stamp") != "$stamp" ]]; then
    log "npm ci in docker/agent (pinned by its package-lock.json)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in docker/agent failed"
    echo "$stamp" > "$dir/node_modules/.topology-stamp"
  fi
  deploy_unlock
}
