#!/usr/bin/env bash
# Role: client that keeps requesting. Starts an HTTP/1.0 request for / to
# VIP:PORT, sleeps INTERVAL seconds, starts the next, ...: each request on
# its own TCP connection and in the background (one that hangs does not
# hold back the next), until the file STOP exists or DURATION (whole)
# seconds have passed; then waits for the requests still running. Prints
# one line per request when it ends:
#
#   START_MS END_MS ANSWER
#
# milliseconds since T0 (epoch seconds, e.g. bash's $EPOCHREALTIME; default:
# when this script started), ANSWER the "Webserver N" line of the answer or
# FAIL (refused, unreachable, or no answer within WAIT seconds).
#
#   client-poll.sh VIP=192.0.2.1 [STOP=/tmp/stop] [DURATION=60] [INTERVAL=0.15]
#                  [WAIT=1] [PORT=80] [T0=1700000000.000000]
#
# Settings come from the environment or from NAME=VALUE arguments.
set -u
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
STOP="${STOP:-}"
DURATION="${DURATION:-60}"
INTERVAL="${INTERVAL:-0.15}"
WAIT="${WAIT:-1}"
PORT="${PORT:-80}"
T0="${T0:-$EPOCHREALTIME}"

# microseconds since T0 ($EPOCHREALTIME without its decimal point)
t0us=$((10#${T0/[.,]/}))

request() {
    local s e t answer
    t="$EPOCHREALTIME"
    s=$((10#${t/[.,]/} - t0us))
    answer="$(printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout "$((WAIT + 1))" nc -w "$WAIT" "$VIP" "$PORT" 2>/dev/null |
        grep -o -m1 'Webserver [0-9A-Za-z]*')"
    t="$EPOCHREALTIME"
    e=$((10#${t/[.,]/} - t0us))
    printf '%d %d %s\n' "$((s / 1000))" "$((e / 1000))" "${answer:-FAIL}"
}

t="$EPOCHREALTIME"
end_us=$((10#${t/[.,]/} - t0us + DURATION * 1000000))
while [ -z "$STOP" ] || [ ! -e "$STOP" ]; do
    t="$EPOCHREALTIME"
    [ "$((10#${t/[.,]/} - t0us))" -lt "$end_us" ] || break
    request &
    sleep "$INTERVAL"
done
wait
