#!/usr/bin/env bash
# Installs Debian's redis-server, which the shared rate-limit tests need (test/support/redis.ts starts its own
# throwaway server on a random 127.0.0.1 port, no persistence, and stops it). Idempotent: does nothing when
# redis-server is already there. The package's own service is never used by tests; apt is asked not to start it.
set -euo pipefail

if command -v redis-server > /dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  echo "install-redis: $(/usr/bin/redis-server --version 2>/dev/null || redis-server --version) already present"
  exit 0
fi

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install redis-server

if [ ! -x /usr/bin/redis-server ]; then
  echo "install-redis: redis-server installed but /usr/bin/redis-server not found" >&2
  exit 1
fi
echo "install-redis: installed $(/usr/bin/redis-server --version)"
