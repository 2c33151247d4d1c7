#!/usr/bin/env bash
# Role: real server behind a NAT (masquerading) director.
# The director rewrites the destination only, so the replies must go back
# through it: the default route points at the director's address on the
# real servers' network.
#
#   realserver-nat.sh GATEWAY=198.51.100.254 BODY="Webserver 1" [DOCROOT=...] [PORT=80]
#
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${GATEWAY:?GATEWAY (the director address on this network) is required}"
: "${BODY:?BODY is required}"


run ip route replace default via "$GATEWAY"
exec "$here/webserver.sh"
