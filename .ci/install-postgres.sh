#!/usr/bin/env bash
# Installs the PostgreSQL server binaries that the archive tests need (test/support/postgres.ts starts its own
# throwaway cluster from /usr/lib/postgresql/<version>/bin on a random 127.0.0.1 port, as the `postgres` user when
# run as root). Idempotent: does nothing when initdb is already there.
#
# Debian (bookworm: PostgreSQL 15) via apt. The package's own cluster (`main`, port 5432) is never used by tests,
# so whether apt starts it or not does not matter; we ask apt not to start services during the install anyway
# (no init system in CI containers).
set -euo pipefail

have_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; }

if have_initdb; then
  echo "install-postgres: $(ls -d /usr/lib/postgresql/*/bin | tail -n 1) already present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

# Keep services from starting during the install (restored afterwards if we created the policy file).
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" > /dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql

if ! have_initdb; then
  echo "install-postgres: postgresql installed but no /usr/lib/postgresql/*/bin/initdb found" >&2
  exit 1
fi
echo "install-postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
