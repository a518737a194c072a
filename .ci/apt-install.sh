# Sourced by the .ci/install-*.sh scripts: `apt_install PACKAGE...` installs Debian packages without starting their
# services (tests start their own throwaway servers), as root or through sudo. Exits non-zero if apt fails.

apt_install() {
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  # Keep services from starting during the install (the policy file is removed again if we created it).
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" > /dev/null
    $sudo chmod +x "$policy"
    created_policy=1
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" || status=$?
  if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi
  return "$status"
}
