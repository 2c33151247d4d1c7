#!/usr/bin/env bash
# Role: client. Sends COUNT HTTP/1.0 requests for / to VIP:PORT, one TCP
# connection each, and prints one line per request: the "Webserver N" line
# of the answer, or "no answer".
#
#   client-get.sh VIP=192.0.2.1 [COUNT=1] [PORT=80] [WAIT=2]
#
# WAIT: seconds allowed for connecting and for the whole exchange (+1).
# Settings come from the environment or from NAME=VALUE arguments.
set -u
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
COUNT="${COUNT:-1}"
PORT="${PORT:-80}"
WAIT="${WAIT:-2}"

i=0
while [ "$i" -lt "$COUNT" ]; do
    i=$((i + 1))
    answer="$(printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout "$((WAIT + 1))" nc -w "$WAIT" "$VIP" "$PORT" 2>/dev/null |
        grep -o -m1 'Webserver [0-9A-Za-z]*')"
    echo "${answer:-no answer}"
done
