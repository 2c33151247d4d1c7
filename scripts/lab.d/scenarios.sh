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

LAB_SCENARIOS=(nat dr tun wrr lc sh persistence ha)
declare -A LAB_TITLE=(
    [nat]="NAT (masquerading), round robin"
    [dr]="direct routing, round robin"
    [tun]="IP-in-IP tunnelling, round robin"
    [wrr]="weighted round robin 3:1, 40 requests"
    [lc]="least connection: new requests avoid the busy server"
    [sh]="source hashing: a client address sticks to one server"
    [persistence]="persistent service (-p): one client sticks to one server"
    [ha]="two directors, connection sync daemon master -> backup"
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
