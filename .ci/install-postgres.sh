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

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install postgresql

if ! have_initdb; then
  echo "install-postgres: postgresql installed but no /usr/lib/postgresql/*/bin/initdb found" >&2
  exit 1
fi
echo "install-postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
