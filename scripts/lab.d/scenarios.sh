#!/usr/bin/env bash
# IPVS lab scenarios: real traffic through real IPVS directors programmed with
# the ipvsadm first in PATH. Runs as root on a Linux host with IPVS (the lab
# VM of scripts/lab); creates network namespaces and bridges named lab-* and
# removes them after each scenario.
#
#   scenarios.sh [SCENARIO...]     run the scenarios (default: all, in order)
#   scenarios.sh --list            print the scenario names
#
# Prints "lab: SCENARIO: PASS" or "lab: SCENARIO: FAIL (reason)" for each,
# then "lab: N passed, M failed"; exits 1 if any failed, 2 on bad usage.
set -u -o pipefail

LAB_D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$LAB_D/common.sh"

LAB_SCENARIOS=(nat dr tun wrr lc sh persistence ha failover)
declare -A LAB_TITLE=(
    [nat]="NAT (masquerading), round robin"
    [dr]="direct routing, round robin"
    [tun]="IP-in-IP tunnelling, round robin"
    [wrr]="weighted round robin 3:1, 40 requests"
    [lc]="least connection: new requests avoid the busy server"
    [sh]="source hashing: a client address sticks to one server"
    [persistence]="persistent service (-p): one client sticks to one server"
    [ha]="two directors, connection sync daemon master -> backup"
    [failover]="ipvsadm serve health checks: a failed web server gets weight 0, then comes back"
)

# ---- scenarios (each runs in a subshell with set -e; lab_fail ends it) -----

scn_nat() {
    lab_topo_nat
    lab_role lab-dir director-nat.sh VIP="$LAB_VIP" SCHED=rr REALSERVERS="$LAB_RS1_NAT $LAB_RS2_NAT"
    lab_get 6
    lab_show lab-dir 6
    lab_expect_alternating
}

scn_dr() {
    lab_topo_l2 dr
    lab_role lab-dir director-dr.sh VIP="$LAB_VIP" SCHED=rr REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2"
    lab_get 6
    lab_show lab-dir 6
    lab_expect_alternating
}

scn_tun() {
    lab_topo_l2 tun
    lab_role lab-dir director-tun.sh VIP="$LAB_VIP" SCHED=rr REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2"
    lab_get 6
    lab_show lab-dir 6
    lab_expect_alternating
}

# wrr with weights 3 and 1 hands out each cycle of 4 new connections as 3 + 1
# (the kernel's scheduler is deterministic and nothing else uses the service),
# so 40 requests must split exactly 30 / 10: no tolerance needed.
scn_wrr() {
    lab_topo_nat
    lab_role lab-dir director-nat.sh VIP="$LAB_VIP" SCHED=wrr REALSERVERS="$LAB_RS1_NAT,3 $LAB_RS2_NAT,1"
    lab_get 40
    local n1 n2
    n1="$(lab_count "Webserver 1")"
    n2="$(lab_count "Webserver 2")"
    lab_log "  Webserver 1: $n1, Webserver 2: $n2 (weights 3:1, expected 30 / 10)"
    lab_show lab-dir 40
    if [ "$n1" -ne 30 ] || [ "$n2" -ne 10 ]; then
        lab_fail "split $n1 / $n2, expected 30 / 10"
    fi
}

# lc: the pool starts with rs1 only; three clients open connections and keep
# them open (nc waiting on a sleep, the web server waiting for the request).
# Then rs2 joins: lc ranks servers by 256 * active + inactive connections, so
# every new (short) request goes to rs2 while rs1 holds 3 active connections.
scn_lc() {
    lab_topo_nat
    lab_role lab-dir director-nat.sh VIP="$LAB_VIP" SCHED=lc REALSERVERS="$LAB_RS1_NAT"
    printf '  [lab-client]# 3 x (sleep 60 | nc %s 80) &   (held open)\n' "$LAB_VIP"
    local active=""
    for _ in 1 2 3; do
        lab_in lab-client setsid bash -c "sleep 60 | nc $LAB_VIP 80 >/dev/null 2>&1" </dev/null >/dev/null 2>&1 &
    done
    for _ in $(seq 1 20); do
        active="$(lab_in lab-dir ipvsadm -L -n |
            awk -v r="$LAB_RS1_NAT:80" '$1 == "->" && $2 == r { print $5; exit }')"
        [ "$active" != 3 ] || break
        sleep 0.25
    done
    [ "$active" = 3 ] || lab_fail "rs1 has '$active' active connections, not 3, after opening 3"
    lab_run lab-dir ipvsadm -a -t "$LAB_VIP:80" -r "$LAB_RS2_NAT:80" -m -w 1
    lab_run lab-dir ipvsadm -L -n
    lab_get 6
    lab_show lab-dir 9
    local n2
    n2="$(lab_count "Webserver 2")"
    [ "$n2" -eq 6 ] || lab_fail "$n2 of 6 new requests went to Webserver 2 (the idle server), expected all"
    active="$(lab_in lab-dir ipvsadm -L -n |
        awk -v r="$LAB_RS1_NAT:80" '$1 == "->" && $2 == r { print $5; exit }')"
    [ "$active" = 3 ] || lab_fail "rs1 shows '$active' active connections at the end, expected 3"
}

# sh: the kernel hashes the source address onto a 256-bucket table filled
# alternately with the two servers; with this pair of client addresses the two
# land on different servers (deterministic for a given service set-up).
scn_sh() {
    local other=192.0.2.102 s1 s2
    lab_topo_nat
    lab_run lab-client ip addr add "$other/24" dev eth0
    lab_role lab-dir director-nat.sh VIP="$LAB_VIP" SCHED=sh REALSERVERS="$LAB_RS1_NAT $LAB_RS2_NAT"
    lab_get 5 "$LAB_CLIENT"
    s1="$(lab_expect_same)"
    lab_get 5 "$other"
    s2="$(lab_expect_same)"
    lab_get 3 "$LAB_CLIENT"
    [ "$(lab_expect_same)" = "$s1" ] || lab_fail "$LAB_CLIENT moved from $s1 to ${LAB_ANSWERS[0]}"
    lab_log "  $LAB_CLIENT -> $s1 (8 of 8), $other -> $s2 (5 of 5)"
    lab_show lab-dir 13
    [ "$s1" != "$s2" ] || lab_fail "both client addresses hashed to $s1"
}

scn_persistence() {
    lab_topo_nat
    lab_role lab-dir director-nat.sh VIP="$LAB_VIP" SCHED=rr SVC_OPTS="-p 60" REALSERVERS="$LAB_RS1_NAT $LAB_RS2_NAT"
    lab_get 10
    local s
    s="$(lab_expect_same)"
    lab_log "  all 10 requests answered by $s (rr alone would alternate)"
    lab_show lab-dir 10
    lab_run lab-dir ipvsadm -L -n --persistent-conn
}

# ha: the master syncs a connection when it enters a state, and while it is
# ESTABLISHED on its 3rd packet (then every 50th: sysctls sync_threshold
# "3 50"), so the held connection sends the first line of a request (SYN,
# ACK, data) and then waits: ESTABLISHED on A, and on B once synced.
scn_ha() {
    lab_topo_ha
    lab_role lab-dir-a director-dr.sh VIP="$LAB_VIP" SCHED=rr REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2"
    # the standby has the same service but not the VIP
    lab_role lab-dir-b director-dr.sh VIP="$LAB_VIP" VIP_DEV= SCHED=rr REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2"
    lab_role lab-dir-b director-sync.sh STATE=backup SYNC_DEV=eth1 SYNCID=7
    lab_role lab-dir-a director-sync.sh STATE=master SYNC_DEV=eth1 SYNCID=7
    lab_run lab-dir-a ipvsadm -L --daemon
    lab_run lab-dir-b ipvsadm -L --daemon
    lab_get 2
    printf '  [lab-client]# (printf %s; sleep 60) | nc %s 80 &   (held open)\n' "'GET / HTTP/1.0\\r\\n'" "$LAB_VIP"
    lab_in lab-client setsid bash -c "(printf 'GET / HTTP/1.0\r\n'; sleep 60) | nc $LAB_VIP 80 >/dev/null 2>&1" </dev/null >/dev/null 2>&1 &
    local conn="" seen=""
    for _ in $(seq 1 20); do
        conn="$(lab_in lab-dir-a ipvsadm -L -n -c |
            awk -v c="$LAB_CLIENT" '$3 == "ESTABLISHED" && index($4, c ":") == 1 { print $4, $5, $6; exit }')"
        [ -z "$conn" ] || break
        sleep 0.25
    done
    [ -n "$conn" ] || lab_fail "no ESTABLISHED connection from $LAB_CLIENT on director A"
    lab_log "  held connection on A: $conn; waiting for it on director B ..."
    for _ in $(seq 1 24); do
        if lab_in lab-dir-b ipvsadm -L -n -c |
            awk -v c="$conn" '$3 " " $4 " " $5 " " $6 == "ESTABLISHED " c { f = 1 } END { exit !f }'; then
            seen=1
            break
        fi
        sleep 0.5
    done
    lab_log "  director A (master):"
    lab_show lab-dir-a 3
    lab_log "  director B (backup):"
    lab_run lab-dir-b ipvsadm -L -n -c
    lab_run lab-dir-a ipvsadm --stop-daemon master
    lab_run lab-dir-b ipvsadm --stop-daemon backup
    [ -n "$seen" ] || lab_fail "director B's 'ipvsadm -L -n -c' has no ESTABLISHED $conn after 12 s"
}

# failover: `ipvsadm serve` keeps the NAT service with an HTTP monitor
# (delay 1 s, timeout 0.5 s, ERROR after 2 failures, ONLINE after 2
# successes) while the client starts a request about every 0.15 s, each on
# its own (client-poll.sh). Web server 2 fails twice: its httpd is killed
# (requests sent to it are refused at once), later its link is cut
# (requests hang until nc gives up; the checks time out). Checked: both
# servers answer before; the daemon sets weight 0 within 30 s; from the
# moment the director's table shows weight 0 until the repair every request
# is answered by Webserver 1; after the repair Webserver 2 answers again
# within 30 s; SIGTERM ends the daemon with status 0. The VM is emulated
# (slow, noisy): other times are measured and printed, not asserted.
scn_failover() {
    local sock="$LAB_FO/serve.sock" pid rc="" reason="" n n1 n2 nf phase t
    local health="type=HTTP delay=1 timeout=0.5 max_retries=2 max_retries_down=2 url_path=/ expected_codes=200"
    rm -rf "$LAB_FO"
    mkdir -p "$LAB_FO"
    : >"$LAB_FO/events"
    : >"$LAB_FO/requests"
    lab_topo_nat
    lab_clock_start
    lab_event "[lab-dir] ipvsadm serve starts"
    lab_serve_start lab-dir VIP="$LAB_VIP" REALSERVERS="$LAB_RS1_NAT $LAB_RS2_NAT" HEALTH="$health" \
        RULES="$LAB_FO/serve.rules" SOCKET="$sock"
    lab_until 30 lab_in lab-dir ipvsadm serve status --socket "$sock" ||
        lab_fo_fail "ipvsadm serve did not answer on $sock within 30 s"
    sed 's/^[0-9]* /    /' "$LAB_FO/serve.log"
    lab_run lab-dir ipvsadm -L -n
    lab_run lab-dir ipvsadm serve status --socket "$sock"

    lab_client_start
    lab_log "  (both servers answer, alternately, for 12 requests; then web server 2 fails)"
    lab_until 30 lab_fo_ended 0 12 || lab_fo_fail "the client got fewer than 12 answers in 30 s"
    lab_fo_phase kill
    lab_fo_phase link
    lab_fo_ended "${FO_link[6]}" 4 || lab_until 30 lab_fo_ended "${FO_link[6]}" 4 || true
    lab_client_stop

    pid="$(lab_in lab-dir ipvsadm serve status --json --socket "$sock" |
        awk -F'[:,]' '$1 ~ /"pid"/ { gsub(/ /, "", $2); print $2; exit }')" || pid=""
    [ -n "$pid" ] || lab_fo_fail "no pid in ipvsadm serve status --json"
    lab_event "** SIGTERM to ipvsadm serve (pid $pid)"
    printf '  [lab-dir]# kill -TERM %s   (ipvsadm serve)\n' "$pid"
    kill -TERM "$pid"
    lab_until 30 test -s "$LAB_FO/serve.rc" || lab_fo_fail "ipvsadm serve still running 30 s after SIGTERM"
    rc="$(cat "$LAB_FO/serve.rc")"
    lab_event "ipvsadm serve exited with status $rc"

    for phase in kill link; do
        t="$(lab_fo_last_fail "$phase")"
        [ -z "$t" ] || lab_event "$t" "(the last request routed to web server 2 before weight 0 starts: it fails)"
    done
    lab_log ""
    lab_timeline
    lab_log ""
    lab_fo_summary kill "web server 2's httpd killed (connections refused)"
    lab_fo_summary link "web server 2's link cut (requests hang)"
    lab_log "  Octavia (seed 002; delay 5, max_retries 2, timeout 10): a dead member kept getting its"
    lab_log "  round-robin share of requests, which hung, for ~18 s. Here (delay 1, max_retries_down 2,"
    lab_log "  timeout 0.5): $(lab_fo_secs "${FO_kill[2]}" "${FO_kill[0]}") s after the kill, $(lab_fo_secs "${FO_link[2]}" "${FO_link[0]}") s after the link cut (until weight 0 was seen;"
    lab_log "  expected about delay x max_retries_down = 2 s, + timeout when the checks hang, + VM lag)."
    lab_log ""

    # the checks (before the kill: the requests that ended before it)
    n="$(awk -v k="${FO_kill[0]}" '$2 < k { n++ } END { print n + 0 }' "$LAB_FO/requests")"
    n1="$(awk -v k="${FO_kill[0]}" '$2 < k && $3 " " $4 == "Webserver 1" { n++ } END { print n + 0 }' "$LAB_FO/requests")"
    n2="$(awk -v k="${FO_kill[0]}" '$2 < k && $3 " " $4 == "Webserver 2" { n++ } END { print n + 0 }' "$LAB_FO/requests")"
    if [ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && [ "$((n1 + n2))" -eq "$n" ]; then
        lab_log "  ok: before the kill, $n requests: $n1 answered by Webserver 1, $n2 by Webserver 2"
    else
        reason="${reason:-before the kill: $n requests, $n1 answered by Webserver 1, $n2 by Webserver 2}"
        lab_log "  FAILED: $reason"
    fi
    for phase in kill link; do
        lab_fo_check "$phase" || reason="${reason:-$LAB_FO_REASON}"
    done
    nf="$(lab_requests 0 "" FAIL)"
    lab_log "  (the client made $(lab_requests 0) requests, $nf failed)"
    if [ "$rc" = 0 ]; then
        lab_log "  ok: ipvsadm serve exited with status 0 on SIGTERM"
    else
        reason="${reason:-ipvsadm serve exited with status $rc on SIGTERM, expected 0}"
        lab_log "  FAILED: ipvsadm serve exited with status $rc on SIGTERM"
    fi
    [ -z "$reason" ] || lab_fail "$reason"
}

# ---- runner -----------------------------------------------------------------

lab_usage() {
    sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    echo "scenarios: ${LAB_SCENARIOS[*]}" >&2
    exit 2
}

# ERR trap of a scenario: the first failing command is the reason.
lab_on_err() {
    [ -s "$LAB_TMP/reason" ] || printf 'command failed (status %s): %s\n' "$1" "$2" >"$LAB_TMP/reason"
}

lab_main() {
    local selected=() s known
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --list)
                printf '%s\n' "${LAB_SCENARIOS[@]}"
                return 0
                ;;
            -h | --help) lab_usage ;;
            -*) echo "scenarios.sh: unknown option $1" >&2; lab_usage ;;
            *)
                known=""
                for s in "${LAB_SCENARIOS[@]}"; do [ "$s" != "$1" ] || known=1; done
                [ -n "$known" ] || { echo "scenarios.sh: unknown scenario '$1'" >&2; lab_usage; }
                selected+=("$1")
                ;;
        esac
        shift
    done
    [ "${#selected[@]}" -gt 0 ] || selected=("${LAB_SCENARIOS[@]}")
    [ "$(id -u)" -eq 0 ] || { echo "scenarios.sh: must run as root" >&2; return 2; }

    mkdir -p "$LAB_TMP"
    lab_log "lab: ipvsadm is $(command -v ipvsadm): $(ipvsadm version 2>&1 | head -n1)"
    local passed=0 failed=0 rc t0 t1 reason
    for s in "${selected[@]}"; do
        lab_teardown
        rm -f "$LAB_TMP/reason"
        lab_log ""
        lab_log "==== lab: $s: ${LAB_TITLE[$s]} ===="
        t0="$EPOCHREALTIME"
        (
            set -eE
            trap 'lab_on_err "$?" "$BASH_COMMAND"' ERR
            "scn_$s"
        )
        rc=$?
        t1="$EPOCHREALTIME"
        lab_teardown
        lab_log "  ($s took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
            lab_log "lab: $s: PASS"
        else
            failed=$((failed + 1))
            reason="$(head -n1 "$LAB_TMP/reason" 2>/dev/null)"
            lab_log "lab: $s: FAIL (${reason:-exit status $rc})"
        fi
    done
    lab_log ""
    lab_log "lab: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

lab_main "$@"
