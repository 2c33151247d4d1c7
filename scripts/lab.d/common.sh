# shellcheck shell=bash
# Helpers for the lab scenarios (sourced by scenarios.sh): "hosts" are
# network namespaces named lab-*, "networks" are bridges named lab-* in the
# calling namespace, each host joins a network with a veth pair. Everything
# the lab creates is named lab-* so that lab_teardown can remove it all.
#
# The role scripts (director-*.sh, realserver-*.sh, webserver.sh, ...) do not
# depend on this file: they configure whatever host they run on.

LAB_D="${LAB_D:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
LAB_TMP="${LAB_TMP:-/tmp/lab}"

# Addresses (documentation ranges only).
LAB_VIP=192.0.2.1          # the virtual service, 192.0.2.1:80
LAB_CLIENT=192.0.2.100     # the client (sh adds 192.0.2.102)
LAB_DIR=192.0.2.2          # director (A) on the client network
LAB_DIR_B=192.0.2.3        # director B (ha)
LAB_DIR_BACK=198.51.100.254 # NAT director on the real servers' network
LAB_RS1_NAT=198.51.100.11
LAB_RS2_NAT=198.51.100.12
LAB_RS1_L2=192.0.2.11      # DR / TUN: real servers share the client network
LAB_RS2_L2=192.0.2.12
LAB_SYNC_A=203.0.113.2     # ha: the directors' sync link
LAB_SYNC_B=203.0.113.3

lab_log() { printf '%s\n' "$*"; }

# lab_cmdline ARG...: the words, single-quoted where needed, for display.
lab_cmdline() {
    local out="" a name
    for a in "$@"; do
        name=""
        case "$a" in [A-Z]*=*) name="${a%%=*}="; a="${a#*=}" ;; esac
        case "$a" in
            *[!A-Za-z0-9_./:,=@+-]* | '') a="'${a//\'/\'\\\'\'}'" ;;
        esac
        out="$out${out:+ }$name$a"
    done
    printf '%s' "$out"
}

# lab_in NS CMD...: run CMD in host NS.
lab_in() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@"
}

# lab_run NS CMD...: show "[NS]# CMD", run it in NS, indent its output.
# With LAB_COMPARE=1, a listing (ipvsadm -L/-l/--list ...) is also run with
# ipvsadm 1.31 ($IPVS_ORACLE) and any difference is shown.
lab_run() {
    local ns="$1" st=0
    shift
    printf '  [%s]# %s\n' "$ns" "$(lab_cmdline "$@")"
    if [ "${LAB_COMPARE:-0}" = 1 ] && [ "$1" = ipvsadm ] && [ -x "${IPVS_ORACLE:-}" ]; then
        case "${2:-}" in
            -L | -l | --list)
                ip netns exec "$ns" "$@" >"$LAB_TMP/ours" 2>&1 || st=$?
                ip netns exec "$ns" "$IPVS_ORACLE" "${@:2}" >"$LAB_TMP/oracle" 2>&1 || true
                sed 's/^/    /' "$LAB_TMP/ours"
                # connection listings: the expire countdown moves on between the two runs
                sed -i -E 's/^([A-Z]+ +)[0-9]+:[0-9]{2} /\1--:-- /' "$LAB_TMP/ours" "$LAB_TMP/oracle"
                diff -u "$LAB_TMP/oracle" "$LAB_TMP/ours" >"$LAB_TMP/diff" ||
                    sed '1,2d; s/^/    compare (- ipvsadm 1.31, + ours): /' "$LAB_TMP/diff"
                [ "$st" -eq 0 ] || lab_fail "[$ns]# $(lab_cmdline "$@"): exit status $st"
                return 0
                ;;
        esac
    fi
    ip netns exec "$ns" "$@" 2>&1 | sed 's/^/    /' || st="${PIPESTATUS[0]}"
    [ "$st" -eq 0 ] || lab_fail "[$ns]# $(lab_cmdline "$@"): exit status $st"
}

# lab_role NS SCRIPT [NAME=VALUE...]: run a role script of lab.d in NS.
lab_role() {
    local ns="$1" script="$2"
    shift 2
    local st=0
    printf '  [%s]# %s\n' "$ns" "$(lab_cmdline "$script" "$@")"
    ip netns exec "$ns" "$LAB_D/$script" "$@" 2>&1 | sed 's/^/    /' || st="${PIPESTATUS[0]}"
    [ "$st" -eq 0 ] || lab_fail "[$ns]# $(lab_cmdline "$script" "$@"): exit status $st"
}

# lab_host NS...: new network namespaces with lo up.
lab_host() {
    local ns
    for ns in "$@"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
}

# lab_net BRIDGE: a new L2 network.
lab_net() {
    ip link add "$1" type bridge
    # the sync daemon's multicast must reach every port without an IGMP querier
    ip link set "$1" type bridge mcast_snooping 0
    ip link set "$1" up
}

# lab_attach NS IFNAME BRIDGE ADDR/PREFIX: plug host NS into network BRIDGE.
lab_attach() {
    local ns="$1" ifname="$2" br="$3" addr="$4"
    local peer="${ns#lab-}-$ifname"
    ip link add "$peer" type veth peer name "$ifname" netns "$ns"
    ip link set "$peer" master "$br" up
    ip -n "$ns" addr add "$addr" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
}

# lab_teardown: kill every process in the lab-* namespaces, delete them and
# the lab-* bridges.
lab_teardown() {
    local ns pids link
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^lab-/ { print $1 }'); do
        pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -9 $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    done
    for link in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '$2 ~ /^lab-/ { print $2 }'); do
        ip link del "$link" 2>/dev/null || true
    done
    rm -rf "${LAB_TMP:?}"/www-* "${LAB_TMP:?}"/failover
}

# ---- topologies -------------------------------------------------------------

# NAT: lab-client -- lab-front -- lab-dir -- lab-back -- lab-rs1, lab-rs2.
# The real servers' default route is the director. The director gets its VIP
# from director-nat.sh.
lab_topo_nat() {
    lab_log "topology: client $LAB_CLIENT -- [192.0.2.0/24] -- director (VIP $LAB_VIP, $LAB_DIR | $LAB_DIR_BACK) -- [198.51.100.0/24] -- rs1 $LAB_RS1_NAT, rs2 $LAB_RS2_NAT"
    lab_net lab-front
    lab_net lab-back
    lab_host lab-client lab-dir lab-rs1 lab-rs2
    lab_attach lab-client eth0 lab-front "$LAB_CLIENT/24"
    lab_attach lab-dir eth0 lab-front "$LAB_DIR/24"
    lab_attach lab-dir eth1 lab-back "$LAB_DIR_BACK/24"
    lab_attach lab-rs1 eth0 lab-back "$LAB_RS1_NAT/24"
    lab_attach lab-rs2 eth0 lab-back "$LAB_RS2_NAT/24"
    lab_role lab-rs1 realserver-nat.sh GATEWAY="$LAB_DIR_BACK" BODY="Webserver 1" DOCROOT="$LAB_TMP/www-rs1"
    lab_role lab-rs2 realserver-nat.sh GATEWAY="$LAB_DIR_BACK" BODY="Webserver 2" DOCROOT="$LAB_TMP/www-rs2"
}

# DR / TUN: one L2 network lab-front with the client, the director(s) and the
# real servers, all in 192.0.2.0/24. MODE: dr | tun (the real servers' role).
lab_topo_l2() {
    local mode="$1"
    lab_log "topology: client $LAB_CLIENT, director $LAB_DIR (VIP $LAB_VIP), rs1 $LAB_RS1_L2, rs2 $LAB_RS2_L2 on one L2 segment 192.0.2.0/24; real servers hold the VIP on $([ "$mode" = dr ] && echo lo || echo tunl0)"
    lab_net lab-front
    lab_host lab-client lab-dir lab-rs1 lab-rs2
    lab_attach lab-client eth0 lab-front "$LAB_CLIENT/24"
    lab_attach lab-dir eth0 lab-front "$LAB_DIR/24"
    lab_attach lab-rs1 eth0 lab-front "$LAB_RS1_L2/24"
    lab_attach lab-rs2 eth0 lab-front "$LAB_RS2_L2/24"
    lab_role lab-rs1 "realserver-$mode.sh" VIP="$LAB_VIP" BODY="Webserver 1" DOCROOT="$LAB_TMP/www-rs1"
    lab_role lab-rs2 "realserver-$mode.sh" VIP="$LAB_VIP" BODY="Webserver 2" DOCROOT="$LAB_TMP/www-rs2"
}

# HA: like lab_topo_l2 dr with two directors lab-dir-a, lab-dir-b that also
# share a sync network lab-sync (203.0.113.0/24, their eth1).
lab_topo_ha() {
    lab_log "topology: client $LAB_CLIENT, director A $LAB_DIR (VIP $LAB_VIP), director B $LAB_DIR_B, rs1 $LAB_RS1_L2, rs2 $LAB_RS2_L2 on 192.0.2.0/24 (direct routing); A $LAB_SYNC_A and B $LAB_SYNC_B on the sync link 203.0.113.0/24"
    lab_net lab-front
    lab_net lab-sync
    lab_host lab-client lab-dir-a lab-dir-b lab-rs1 lab-rs2
    lab_attach lab-client eth0 lab-front "$LAB_CLIENT/24"
    lab_attach lab-dir-a eth0 lab-front "$LAB_DIR/24"
    lab_attach lab-dir-b eth0 lab-front "$LAB_DIR_B/24"
    lab_attach lab-dir-a eth1 lab-sync "$LAB_SYNC_A/24"
    lab_attach lab-dir-b eth1 lab-sync "$LAB_SYNC_B/24"
    lab_attach lab-rs1 eth0 lab-front "$LAB_RS1_L2/24"
    lab_attach lab-rs2 eth0 lab-front "$LAB_RS2_L2/24"
    lab_role lab-rs1 realserver-dr.sh VIP="$LAB_VIP" BODY="Webserver 1" DOCROOT="$LAB_TMP/www-rs1"
    lab_role lab-rs2 realserver-dr.sh VIP="$LAB_VIP" BODY="Webserver 2" DOCROOT="$LAB_TMP/www-rs2"
}

# ---- traffic and checks -----------------------------------------------------

# lab_get COUNT [SRC]: COUNT requests from lab-client to the VIP (from source
# address SRC if given); answers in LAB_ANSWERS, printed one per line.
lab_get() {
    local count="$1" src="${2:-}" i
    if [ -n "$src" ]; then
        ip -n lab-client route replace "$LAB_VIP/32" dev eth0 src "$src"
    fi
    printf '  [lab-client]# client-get.sh VIP=%s COUNT=%s   (from %s)\n' "$LAB_VIP" "$count" "${src:-$LAB_CLIENT}"
    # (no process substitution: the VM has no /dev/fd)
    mapfile -t LAB_ANSWERS <<<"$(lab_in lab-client "$LAB_D/client-get.sh" VIP="$LAB_VIP" COUNT="$count")"
    if [ "$count" -le 12 ]; then
        for i in "${!LAB_ANSWERS[@]}"; do
            printf '    request %2d: %s\n' "$((i + 1))" "${LAB_ANSWERS[$i]}"
        done
    else
        # long runs: one compact line, 1 = Webserver 1, 2 = Webserver 2
        printf '    answers: %s\n' "$(printf '%s\n' "${LAB_ANSWERS[@]}" | sed 's/^Webserver //; s/^no answer$/-/' | tr '\n' ' ')"
    fi
}

# lab_count NAME: how many of LAB_ANSWERS are NAME.
lab_count() {
    local n=0 a
    for a in "${LAB_ANSWERS[@]}"; do
        [ "$a" != "$1" ] || n=$((n + 1))
    done
    echo "$n"
}

# lab_service_conns NS: the Conns column of the service in --stats.
lab_service_conns() {
    lab_in "$1" ipvsadm -L -n --stats 2>/dev/null |
        awk -v s="$LAB_VIP:80" '$1 == "TCP" && $2 == s { print $3; exit }'
}

# lab_show NS CONNS: the director's view: statistics and connection table;
# then check that --stats counts CONNS connections for the service. The
# kernel folds the per-CPU counters into what it reports every 2 s: wait up
# to 6 s for the count to catch up first.
lab_show() {
    local ns="$1" want="$2" conns=""
    for _ in $(seq 1 24); do
        conns="$(lab_service_conns "$ns")"
        [ "${conns:-0}" -lt "$want" ] || break
        sleep 0.25
    done
    lab_run "$ns" ipvsadm -L -n --stats
    lab_run "$ns" ipvsadm -L -n -c
    [ "$conns" = "$want" ] ||
        lab_fail "ipvsadm -L -n --stats shows Conns '$conns' for $LAB_VIP:80 on $ns, expected $want"
}

# lab_fail REASON: end the scenario (it runs in a subshell) as failed. The
# first reason given wins.
lab_fail() {
    [ -s "$LAB_TMP/reason" ] || printf '%s\n' "$*" >"$LAB_TMP/reason"
    exit 1
}

# lab_expect_alternating: both servers answered, every request, alternately.
lab_expect_alternating() {
    local i prev=""
    for i in "${!LAB_ANSWERS[@]}"; do
        case "${LAB_ANSWERS[$i]}" in
            "Webserver 1" | "Webserver 2") ;;
            *) lab_fail "request $((i + 1)): ${LAB_ANSWERS[$i]}" ;;
        esac
        [ "${LAB_ANSWERS[$i]}" != "$prev" ] ||
            lab_fail "requests $i and $((i + 1)) both answered by ${LAB_ANSWERS[$i]}: not alternating"
        prev="${LAB_ANSWERS[$i]}"
    done
    [ "${#LAB_ANSWERS[@]}" -ge 2 ] || lab_fail "fewer than 2 answers"
}

# lab_expect_same: every request answered, all by the same server; prints it.
lab_expect_same() {
    local first="${LAB_ANSWERS[0]:-no answer}" i
    case "$first" in "Webserver 1" | "Webserver 2") ;; *) lab_fail "request 1: $first" ;; esac
    for i in "${!LAB_ANSWERS[@]}"; do
        [ "${LAB_ANSWERS[$i]}" = "$first" ] ||
            lab_fail "request $((i + 1)) answered by '${LAB_ANSWERS[$i]}', request 1 by '$first'"
    done
    echo "$first"
}

# ---- failover: ipvsadm serve, a client that keeps requesting, a timeline ----
# Times are milliseconds since LAB_T0 (lab_clock_start). The files live in
# $LAB_FO: serve.log (the daemon's output, each line prefixed with its time),
# serve.rc (its exit status, once it ended), requests (client-poll.sh's
# "START END ANSWER" lines), events ("TIME TEXT": what the scenario did or saw).

LAB_FO="$LAB_TMP/failover"

# lab_clock_start: time 0 of the timeline is now.
lab_clock_start() {
    LAB_T0="$EPOCHREALTIME"
    LAB_T0US=$((10#${LAB_T0/[.,]/}))
}

# lab_now: LAB_NOW = milliseconds since LAB_T0 (no subshell).
lab_now() {
    local t="$EPOCHREALTIME"
    LAB_NOW=$(((10#${t/[.,]/} - LAB_T0US) / 1000))
}

# lab_stamp: copy stdin to stdout, each line prefixed with lab_now's time.
lab_stamp() {
    local line
    while IFS= read -r line; do
        lab_now
        printf '%d %s\n' "$LAB_NOW" "$line"
    done
}

# lab_event [TIME] TEXT: note TEXT on the timeline (default time: now).
lab_event() {
    local t
    if [ "$#" -ge 2 ]; then
        t="$1"
        shift
    else
        lab_now
        t="$LAB_NOW"
    fi
    printf '%d %s\n' "$t" "$*" >>"$LAB_FO/events"
}

# lab_serve_start NS NAME=VALUE...: director-serve.sh in NS, in the
# background; its output goes, time-stamped, to $LAB_FO/serve.log and its
# exit status to $LAB_FO/serve.rc.
lab_serve_start() {
    local ns="$1"
    shift
    printf '  [%s]# %s &\n' "$ns" "$(lab_cmdline director-serve.sh "$@")"
    (
        st=0
        ip netns exec "$ns" "$LAB_D/director-serve.sh" "$@" </dev/null 2>&1 || st=$?
        echo "$st" >"$LAB_FO/serve.rc"
    ) | lab_stamp >"$LAB_FO/serve.log" &
}

# lab_serve_log_time AFTER SERVER STATE: the time of the daemon's first line
# at or after AFTER saying SERVER (IP:PORT) went to STATE; empty if none yet.
lab_serve_log_time() {
    awk -v a="$1" -v s=" -> $2: " -v st=" -> $3 " \
        '$1 >= a && index($0, s) && index($0, st) { print $1; exit }' "$LAB_FO/serve.log"
}

# lab_weight NS SERVER: SERVER's (IP:PORT) weight in the VIP:80 service of
# NS's table; empty if it is not there.
lab_weight() {
    lab_in "$1" ipvsadm -L -n -t "$LAB_VIP:80" 2>/dev/null |
        awk -v r="$2" '$1 == "->" && $2 == r { print $4; exit }'
}

# lab_client_start [NAME=VALUE...]: client-poll.sh in lab-client, in the
# background, until lab_client_stop; one request about every 0.15 s (the
# settings given override these). WAIT=2: an emulated VM that stalls for a
# moment must not turn a slow answer into a failure.
lab_client_start() {
    printf '  [lab-client]# %s &\n' \
        "$(lab_cmdline client-poll.sh VIP="$LAB_VIP" INTERVAL=0.15 WAIT=2 STOP="$LAB_FO/stop" DURATION=150 "$@")"
    lab_in lab-client "$LAB_D/client-poll.sh" VIP="$LAB_VIP" INTERVAL=0.15 WAIT=2 \
        STOP="$LAB_FO/stop" DURATION=150 T0="$LAB_T0" "$@" </dev/null >>"$LAB_FO/requests" 2>&1 &
    LAB_CLIENT_PID=$!
}

# lab_client_stop: end client-poll.sh (its last requests finish first).
lab_client_stop() {
    [ -n "${LAB_CLIENT_PID:-}" ] || return 0
    : >"$LAB_FO/stop"
    wait "$LAB_CLIENT_PID" || true
    LAB_CLIENT_PID=""
}

# lab_requests FROM [TO] [ANSWER]: how many requests that started in
# [FROM, TO) have ended (with ANSWER, if given: "Webserver 1", FAIL, ...).
lab_requests() {
    awk -v f="$1" -v t="${2:-}" -v w="${3:-}" '
        { a = $3; for (i = 4; i <= NF; i++) a = a " " $i }
        $1 >= f && (t == "" || $1 < t + 0) && (w == "" || a == w) { n++ }
        END { print n + 0 }' "$LAB_FO/requests"
}

# lab_first_answer FROM ANSWER: the start time of the first request started
# at or after FROM that got ANSWER; empty if none (yet).
lab_first_answer() {
    sort -n "$LAB_FO/requests" | awk -v f="$1" -v w="$2" '
        { a = $3; for (i = 4; i <= NF; i++) a = a " " $i }
        $1 >= f && a == w { print $1; exit }'
}

# lab_timeline: the events, the daemon's lines and the requests in time
# order; runs of requests between two lines on one line, one symbol each.
lab_timeline() {
    lab_log "  timeline (ms since ipvsadm serve started; requests by start time:"
    lab_log "  1 / 2 = answered by Webserver 1 / 2, x = failed at once (refused),"
    lab_log "  T = failed after hanging until nc gave up (-w 2); the daemon's lines"
    lab_log "  are stamped when read from its stderr, the table's state when a poll"
    lab_log "  of ipvsadm -L -n first showed it: both a little late):"
    {
        awk '{ t = $1; $1 = ""; print t, 0, "E" $0 }' "$LAB_FO/events"
        # the daemon's lines, not the role's (commands, the rules it wrote)
        awk '/^[0-9]+ (\+ |  )/ { next } { t = $1; $1 = ""; sub(/^ ipvsadm serve: /, " daemon: "); print t, 0, "E" $0 }' "$LAB_FO/serve.log"
        awk '{ print $1, 1, "R", $2, $3 " " $4 }' "$LAB_FO/requests"
    } | lab_timeline_print requests
}

# lab_timeline_print WORD: stdin's lines "MS 0 E TEXT" (an event) and
# "MS 1 R END WHO" (a request started at MS, ended at END, answered by WHO
# or failed), sorted by time, events first at one instant; runs of requests
# between two events on one line after WORD, one symbol each: the web
# server's number, x (failed at once) or T (failed after 0.5 s or more).
lab_timeline_print() {
    sort -s -n -k1,1 -k2,2 | awk -v word="$1" '
        function flush() {
            if (n) printf "  %7d  %s %-40s (%d up to %d)\n", t0, word, runs, n, tend
            n = 0; runs = ""
        }
        $3 == "R" {
            sym = ($5 == "Webserver") ? $6 : (($4 - $1 >= 500) ? "T" : "x")
            if (n == 0) t0 = $1
            runs = runs (n ? " " : "") sym; n++; tend = $1
            if (n == 20) flush()
            next
        }
        {
            flush()
            line = $0; sub(/^-?[0-9]+ 0 E /, "", line)
            printf "  %7d  %s\n", $1, line
        }
        END { flush() }'
}

# lab_until SECS CMD...: run CMD every 0.1 s until it succeeds (status 0) or
# SECS seconds have passed (status 1).
lab_until() {
    local secs="$1" t end
    shift
    t="$EPOCHREALTIME"
    end=$((10#${t/[.,]/} + secs * 1000000))
    while ! "$@" >/dev/null 2>&1; do
        t="$EPOCHREALTIME"
        [ "$((10#${t/[.,]/}))" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# lab_fo_ended FROM N: at least N requests started at or after FROM have ended.
lab_fo_ended() {
    [ "$(lab_requests "$1")" -ge "$2" ]
}

# lab_fo_fail REASON: stop the client, show the timeline so far, fail.
lab_fo_fail() {
    lab_client_stop
    lab_log "  FAILED: $*"
    lab_log ""
    lab_timeline
    lab_fail "$@"
}

# lab_fo_secs T1 T0: T1 - T0 (ms) in seconds, 2 decimals.
lab_fo_secs() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a - b) / 1000 }'
}

# lab_fo_watch STATE WEIGHT SINCE: wait (30 s from SINCE at most) until the
# daemon has logged that web server 2 went to STATE and the director's table
# shows WEIGHT for it; sets LAB_FO_LOGGED and LAB_FO_SEEN (the times).
lab_fo_watch() {
    local state="$1" weight="$2" since="$3" rs2="$LAB_RS2_NAT:80" w
    LAB_FO_LOGGED=""
    LAB_FO_SEEN=""
    while :; do
        [ -n "$LAB_FO_LOGGED" ] || LAB_FO_LOGGED="$(lab_serve_log_time "$since" "$rs2" "$state")"
        if [ -z "$LAB_FO_SEEN" ]; then
            w="$(lab_weight lab-dir "$rs2")" || w=""
            lab_now
            [ "$w" != "$weight" ] || LAB_FO_SEEN="$LAB_NOW"
        fi
        [ -z "$LAB_FO_LOGGED" ] || [ -z "$LAB_FO_SEEN" ] || return 0
        [ ! -s "$LAB_FO/serve.rc" ] ||
            lab_fo_fail "ipvsadm serve exited (status $(cat "$LAB_FO/serve.rc")) while web server 2 should go $state"
        lab_now
        [ "$((LAB_NOW - since))" -lt 30000 ] ||
            lab_fo_fail "30 s after t=$since ms, web server 2: daemon log says $state: ${LAB_FO_LOGGED:-no}, table weight $weight: ${LAB_FO_SEEN:-no} (it is '$w')"
        sleep 0.1
    done
}

# lab_no_pids NS: true when no process runs in namespace NS.
lab_no_pids() {
    [ -z "$(ip netns pids "$1")" ]
}

# lab_fo_phase kill|link: take web server 2 out (kill its httpd, or cut its
# link: its bridge port goes down), wait for the daemon to set weight 0,
# let the client go on for 8 requests, repair it, wait for ONLINE, weight 1
# and an answer from Webserver 2. Sets the array FO_kill / FO_link: times of
# (break, ERROR logged, weight 0 seen, repair, ONLINE logged, weight 1 seen,
# start of the first request Webserver 2 answered after the repair).
lab_fo_phase() {
    local phase="$1" sock="$LAB_FO/serve.sock" t_break t_fix t_ws2 err w0 on w1 pids
    lab_log ""
    lab_now
    t_break="$LAB_NOW"
    case "$phase" in
        kill)
            lab_event "** kill web server 2's httpd: connections to $LAB_RS2_NAT:80 are refused"
            pids="$(ip netns pids lab-rs2 | tr '\n' ' ')"
            printf '  [lab-rs2]# kill %s\n' "$pids"
            # httpd forks a child per request (a check, the client's): one
            # listed a moment ago may have ended already, so kill's status
            # says nothing; what counts is that none is left.
            # shellcheck disable=SC2086 # a list of pids
            kill $pids 2>/dev/null || true
            lab_until 10 lab_no_pids lab-rs2 ||
                lab_fo_fail "web server 2's processes still run 10 s after kill: $(ip netns pids lab-rs2 | tr '\n' ' ')"
            ;;
        link)
            lab_event "** cut web server 2's link (its bridge port rs2-eth0 down): requests to it hang"
            printf '  [root]# ip link set rs2-eth0 down   (web server 2 loses its link)\n'
            ip link set rs2-eth0 down
            ;;
    esac
    lab_fo_watch ERROR 0 "$t_break"
    err="$LAB_FO_LOGGED"
    w0="$LAB_FO_SEEN"
    lab_event "$w0" "director's table: $LAB_RS2_NAT:80 weight 0 (seen by ipvsadm -L -n)"
    lab_run lab-dir ipvsadm -L -n
    lab_run lab-dir ipvsadm serve status --socket "$sock"
    lab_until 30 lab_fo_ended "$w0" 8 || lab_fo_fail "fewer than 8 requests ended in 30 s after weight 0"

    lab_now
    t_fix="$LAB_NOW"
    case "$phase" in
        kill)
            lab_event "** start web server 2's httpd again"
            lab_role lab-rs2 webserver.sh BODY="Webserver 2" DOCROOT="$LAB_TMP/www-rs2"
            ;;
        link)
            lab_event "** web server 2's link back up"
            printf '  [root]# ip link set rs2-eth0 up\n'
            ip link set rs2-eth0 up
            ;;
    esac
    lab_fo_watch ONLINE 1 "$t_fix"
    on="$LAB_FO_LOGGED"
    w1="$LAB_FO_SEEN"
    lab_event "$w1" "director's table: $LAB_RS2_NAT:80 weight 1 (seen by ipvsadm -L -n)"
    lab_run lab-dir ipvsadm serve status --socket "$sock"
    lab_until 30 lab_first_answer_is "$t_fix" ||
        lab_fo_fail "no answer from Webserver 2 within 30 s after the repair"
    t_ws2="$(lab_first_answer "$t_fix" "Webserver 2")"
    lab_event "$t_ws2" "first request answered by Webserver 2 again"
    lab_log "  [lab-client] Webserver 2 answers again (a request started at t=$t_ws2 ms)"
    # shellcheck disable=SC2034 # read by scn_failover and through namerefs
    case "$phase" in
        kill) FO_kill=("$t_break" "$err" "$w0" "$t_fix" "$on" "$w1" "$t_ws2") ;;
        link) FO_link=("$t_break" "$err" "$w0" "$t_fix" "$on" "$w1" "$t_ws2") ;;
    esac
}

# lab_first_answer_is FROM: Webserver 2 answered a request started at or
# after FROM.
lab_first_answer_is() {
    [ -n "$(lab_first_answer "$1" "Webserver 2")" ]
}

# lab_fo_summary PHASE TITLE: what the client saw and how long it took.
lab_fo_summary() {
    local -n t="FO_$1"
    lab_log "  $2 at t=${t[0]}:"
    lab_log "    taken out: ERROR logged at t=${t[1]} ($(lab_fo_secs "${t[1]}" "${t[0]}") s after), weight 0 seen in the table at t=${t[2]} ($(lab_fo_secs "${t[2]}" "${t[0]}") s)"
    awk -v b="${t[0]}" -v w="${t[2]}" -v f="${t[3]}" '
        { a = $3; for (i = 4; i <= NF; i++) a = a " " $i }
        $1 >= b && $1 < w { n++; if (a == "FAIL") { nf++; d += $2 - $1; if ($2 - $1 > m) m = $2 - $1; last = $1 } }
        $1 >= w && $1 < f { if (!n2++) first = $1; if (a == "Webserver 1") n21++ }
        END {
            printf "    gap: %d of the %d requests started in those %.2f s failed", nf, n, (w - b) / 1000
            if (nf) printf ", %.2f s of waiting on them in all (longest %.2f s);\n    the last one routed to web server 2 started at t=%d (%.2f s after)", d / 1000, m / 1000, last, (last - b) / 1000
            printf "\n    avoided: from t=%d (the first request after weight 0) to the repair, %d of %d requests answered by Webserver 1\n", first, n21, n2
        }' "$LAB_FO/requests"
    lab_log "    rejoin: repaired at t=${t[3]}; ONLINE logged at t=${t[4]} ($(lab_fo_secs "${t[4]}" "${t[3]}") s after), weight 1 seen at t=${t[5]} ($(lab_fo_secs "${t[5]}" "${t[3]}") s), first answer from Webserver 2 to a request started at t=${t[6]} ($(lab_fo_secs "${t[6]}" "${t[3]}") s)"
}

# lab_fo_last_fail PHASE: the start of the last failed request between the
# failure and the repair of PHASE; empty if none.
lab_fo_last_fail() {
    local -n t="FO_$1"
    awk -v b="${t[0]}" -v f="${t[3]}" '$1 >= b && $1 < f && $3 == "FAIL" && $1 > l { l = $1 } END { if (l != "") print l }' "$LAB_FO/requests"
}

# lab_fo_check PHASE: from weight 0 in the table to the repair, every
# request was answered by Webserver 1; prints ok / FAILED (LAB_FO_REASON).
lab_fo_check() {
    local -n t="FO_$1"
    local n n1
    n="$(lab_requests "${t[2]}" "${t[3]}")"
    n1="$(lab_requests "${t[2]}" "${t[3]}" "Webserver 1")"
    if [ "$n" -ge 1 ] && [ "$n1" -eq "$n" ]; then
        lab_log "  ok: $1: ERROR after $(lab_fo_secs "${t[1]}" "${t[0]}") s (limit 30 s); between weight 0 and the repair $n of $n requests answered by Webserver 1; Webserver 2 answered again $(lab_fo_secs "${t[6]}" "${t[3]}") s after the repair (limit 30 s)"
        return 0
    fi
    LAB_FO_REASON="$1: $n1 of $n requests started between weight 0 and the repair answered by Webserver 1"
    lab_log "  FAILED: $LAB_FO_REASON"
    return 1
}
