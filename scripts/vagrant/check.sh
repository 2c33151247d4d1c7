#!/usr/bin/env bash
# On the client VM: send requests to the virtual service with the lab's
# client role (client-get.sh) and check that both web servers answered.
#
#   sudo /vagrant/scripts/vagrant/check.sh [COUNT=6] [PORT=80]
#
# PORT=7: the echo service of the HA pair (LVS_MODE=ha), which answers
# HTTP GET requests with its name too.
set -euo pipefail
src="${LVS_SRC:-/vagrant}"
labd="$src/scripts/lab.d"
# shellcheck source-path=SCRIPTDIR source=../lab.d/common.sh disable=SC1091
. "$labd/common.sh"
count=6
port=80
for a in "$@"; do
    case "$a" in
        COUNT=*) count="${a#COUNT=}" ;;
        PORT=*) port="${a#PORT=}" ;;
        *) echo "check.sh: bad argument '$a'" >&2; exit 2 ;;
    esac
done

# client-get.sh runs nc and timeout: busybox's, as in the qemu lab.
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
for applet in nc timeout; do ln -s "$(command -v busybox)" "$bin/$applet"; done

answers="$(PATH="$bin:$PATH" "$labd/client-get.sh" VIP="$LAB_VIP" COUNT="$count" PORT="$port")"
printf '%s\n' "$answers"
if grep -qx 'Webserver 1' <<<"$answers" && grep -qx 'Webserver 2' <<<"$answers" &&
    ! grep -qx 'no answer' <<<"$answers"; then
    echo "check: PASS (both web servers answered through $LAB_VIP:$port)"
else
    echo "check: FAIL" >&2
    exit 1
fi
