#!/usr/bin/env bash
# Role: client that holds long-lived TCP connections. Opens COUNT
# connections to VIP:PORT (an echo service, echoserver.sh), named
# NAME<FIRST>..., and on each sends "NAMEi K" (K = 0, 1, ...), reads the
# echoes for INTERVAL seconds, sends the next line, ... until the file STOP
# exists, then "bye". Prints one line when a connection opens (with its
# local port: the directors' connection tables show it), one per echo
# received and one when it ends:
#
#   TIME_MS NAMEi OPEN PORT
#   TIME_MS NAMEi ECHO...        (e.g. "5120 c1 Webserver 2 c1 17")
#   TIME_MS NAMEi END [REASON]
#
# milliseconds since T0 (epoch seconds, e.g. $EPOCHREALTIME; default: when
# this script started). A connection that is reset or closed before STOP
# shows up as an END line before STOP was created. Lines sent while the
# path is down wait in TCP and are echoed together once it is back. Each
# connection is one bash process (/dev/tcp, no program started per line).
# Runs until every connection has ended.
#
#   client-hold.sh VIP=192.0.2.1 STOP=/tmp/stop [COUNT=4] [NAME=c] [FIRST=1]
#                  [INTERVAL=0.5] [PORT=7] [T0=1700000000.000000]
#
# FIRST: the number of the first connection (a second batch: FIRST=5).
# Settings come from the environment or from NAME=VALUE arguments.
set -u
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${STOP:?STOP (a file whose creation ends the connections) is required}"
COUNT="${COUNT:-4}"
NAME="${NAME:-c}"
FIRST="${FIRST:-1}"
INTERVAL="${INTERVAL:-0.5}"
PORT="${PORT:-7}"
T0="${T0:-$EPOCHREALTIME}"
t0us=$((10#${T0/[.,]/}))
# a write on a reset connection fails instead of killing the shell
trap '' PIPE

# say WORDS...: one line, time-stamped
say() {
    local t="$EPOCHREALTIME"
    printf '%d %s\n' "$(((10#${t/[.,]/} - t0us) / 1000))" "$*"
}

# hold NAME: one connection.
hold() {
    local id="$1" fd sock port k=0 line st
    if ! exec {fd}<>"/dev/tcp/$VIP/$PORT"; then
        say "$id END connect failed"
        return
    fi
    # the local port: the socket's inode in /proc/net/tcp
    sock="$(readlink "/proc/self/fd/$fd")"
    sock="${sock#socket:[}"
    port="$(awk -v i="${sock%]}" '$10 == i { split($2, a, ":"); print a[2]; exit }' /proc/net/tcp)"
    say "$id OPEN $((16#${port:-0}))"
    while [ ! -e "$STOP" ]; do
        printf '%s %d\n' "$id" "$k" >&"$fd" || { say "$id END write failed"; return; }
        k=$((k + 1))
        while :; do
            IFS= read -r -t "$INTERVAL" line <&"$fd"
            st=$?
            if [ "$st" -eq 0 ]; then
                say "$id $line"
            elif [ "$st" -gt 128 ]; then
                break # no more for now: time to send the next line
            else
                say "$id END closed by the server"
                return
            fi
        done
    done
    printf 'bye\n' >&"$fd"
    # the server closes on "bye"
    while IFS= read -r -t 5 line <&"$fd"; do say "$id $line"; done
    say "$id END"
}

for i in $(seq "$FIRST" $((FIRST + COUNT - 1))); do
    hold "$NAME$i" &
done
wait
