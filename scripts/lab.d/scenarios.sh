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
# shellcheck source-path=SCRIPTDIR source=common-ha.sh
. "$LAB_D/common-ha.sh"

LAB_SCENARIOS=(nat dr tun wrr lc sh persistence ha failover ha-failover)
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
    [ha-failover]="HA drill: keepalived (VRRP only) + ipvsadm serve on two directors, the active one dies, then comes back"
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

# ha-failover: the HA drill. Two DR directors (lab_topo_ha), each with
# `ipvsadm serve` on the same FILE (the echo service VIP:7, both real
# servers, a TCP monitor) and keepalived for VRRP only (VIP, advert_int 1,
# A priority 250 > B 240, preempt_delay 5), whose notify script
# (packaging/ipvsadm-sync-notify) makes the sync daemon master where the VIP
# is and backup elsewhere. The client holds 4 connections (an echo every
# 0.5 s each) and opens a new one every 0.1 s. Director A dies (both its
# links down); B takes over; 4 more held connections are opened through B;
# A comes back (links up), receives B's connections as backup during its
# preempt_delay, then takes the VIP back. Checked: every held connection
# survives both moves (echoes again, never closed, same real server), new
# connections work again within 30 s of each move, both daemons exit 0 on
# SIGTERM. The times are measured and printed (against 3 x advert_int),
# never asserted: the VM is emulated.
scn_ha_failover() {
    local ka="${LAB_KEEPALIVED:-}" notify="${LAB_NOTIFY:-$(dirname "$LAB_D")/packaging/ipvsadm-sync-notify}"
    local health="type=TCP delay=1 timeout=0.5 max_retries=2 max_retries_down=2" d t_kill t_vip_b t_new_b
    local t_back t_synced="" t_vip_a t_new_a t_b_active t_stop fails rc_a rc_b pid reason="" ok3 nb na
    [ -n "$ka" ] || ka="$(command -v keepalived || true)"
    if [ -z "$ka" ] || [ ! -x "$ka" ]; then
        lab_fail "keepalived not found (scripts/lab ships Debian's in the VM as LAB_KEEPALIVED; elsewhere: apt-get install keepalived)"
    fi
    [ -x "$notify" ] || lab_fail "notify script $notify missing"
    rm -rf "$LAB_FO"
    mkdir -p "$LAB_FO"
    : >"$LAB_FO/events"
    : >"$LAB_FO/requests"
    : >"$LAB_FO/held"
    printf '#!/bin/sh\n%sexec %s "$@"\n' "${LAB_KA_LIBDIR:+LD_LIBRARY_PATH=$LAB_KA_LIBDIR }" "$ka" >"$LAB_FO/keepalived"
    chmod 755 "$LAB_FO/keepalived"
    lab_log "  keepalived: $("$LAB_FO/keepalived" --version 2>&1 | awk 'NR == 1'); notify script: $notify"

    lab_topo_ha
    lab_role lab-rs1 echoserver.sh BODY="Webserver 1" PORT="$LAB_HA_PORT"
    lab_role lab-rs2 echoserver.sh BODY="Webserver 2" PORT="$LAB_HA_PORT"
    lab_clock_start
    for d in a b; do
        lab_event "[${d^^}] ipvsadm serve starts"
        lab_bg "lab-dir-$d" "serve-$d" director-serve.sh VIP="$LAB_VIP" VIP_DEV= FWD=-g PORT="$LAB_HA_PORT" \
            REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2" HEALTH="$health" RULES="$LAB_FO/serve-$d.rules" SOCKET="$LAB_FO/serve-$d.sock"
    done
    for d in a b; do
        lab_ha_wait 30 "ipvsadm serve answering on director ${d^^}'s socket" \
            lab_in "lab-dir-$d" ipvsadm serve status --socket "$LAB_FO/serve-$d.sock"
    done
    cmp "$LAB_FO/serve-a.rules" "$LAB_FO/serve-b.rules" || lab_ha_fail "the two directors' FILEs differ"
    lab_log "  both directors run ipvsadm serve on the same FILE:"
    sed 's/^/    /' "$LAB_FO/serve-a.rules"
    lab_log "  the standby has the service, not the VIP (keepalived places it):"
    lab_run lab-dir-b ipvsadm -L -n
    lab_run lab-dir-b ip -4 -br addr show dev eth0

    # A first (it becomes master after 3 adverts unheard), then B, which
    # hears A and stays backup (started together, whichever keepalived is
    # up first takes the VIP and A preempts it 5 s later)
    for d in a b; do
        lab_event "[${d^^}] keepalived starts"
        lab_bg "lab-dir-$d" "ka-$d" director-keepalived.sh VIP="$LAB_VIP" PRIORITY="$([ "$d" = a ] && echo 250 || echo 240)" \
            VRRP_DEV=eth0 SYNC_DEV=eth1 SYNCID=7 ADVERT_INT=1 PREEMPT_DELAY=5 SYNC_REFRESH=1 \
            NOTIFY="$notify" NOTIFY_LOG="$LAB_FO/notify-$d.log" CONF="$LAB_FO/keepalived-$d.conf" \
            KEEPALIVED="$LAB_FO/keepalived" PIDDIR="$LAB_FO"
        [ "$d" = b ] || lab_ha_wait 60 "director A entering MASTER" lab_ha_seen lab_ha_ka_time a 0 MASTER
    done
    lab_ha_wait 30 "director A's notify script: sync daemon master" lab_ha_seen lab_ha_notified a 0 master
    lab_ha_wait 30 "director B entering BACKUP" lab_ha_seen lab_ha_ka_time b 0 BACKUP
    lab_ha_wait 30 "director B's notify script: sync daemon backup" lab_ha_seen lab_ha_notified b 0 backup
    lab_ha_roles master backup a || lab_ha_fail "after A became master: VIP on A: $(lab_ha_vip lab-dir-a && echo yes || echo no), on B: $(lab_ha_vip lab-dir-b && echo yes || echo no); sync daemons A '$(lab_ha_daemons lab-dir-a)', B '$(lab_ha_daemons lab-dir-b)'"
    lab_event "A holds the VIP, sync daemons: A master, B backup (checked)"
    sed -n '/^[0-9]* + cat/,/^[0-9]* + exec/p' "$LAB_FO/ka-a.log" | sed 's/^[0-9]* /    /'
    lab_run lab-dir-a ipvsadm -L --daemon
    lab_run lab-dir-b ipvsadm -L --daemon

    lab_client_start INTERVAL=0.1 WAIT=1 PORT="$LAB_HA_PORT"
    lab_event "client: a new connection every 0.1 s; 4 held connections c1-c4 (an echo every 0.5 s each)"
    printf '  [lab-client]# %s &\n' "$(lab_cmdline client-hold.sh VIP="$LAB_VIP" COUNT=4 FIRST=1 STOP="$LAB_FO/stop")"
    lab_in lab-client "$LAB_D/client-hold.sh" VIP="$LAB_VIP" COUNT=4 FIRST=1 PORT="$LAB_HA_PORT" \
        STOP="$LAB_FO/stop" T0="$LAB_T0" </dev/null >>"$LAB_FO/held" 2>&1 &
    lab_ha_wait 30 "director B's table with the 4 held connections (synced from A)" lab_ha_has lab-dir-b 1 4
    lab_event "B's table has c1-c4 (synced from A)"
    lab_run lab-dir-b ipvsadm -L -n -c
    lab_ha_wait 30 "10 new connections" lab_fo_ended 0 10

    # ---- failover
    lab_log ""
    printf '  [root]# ip link set dir-a-eth0 down; ip link set dir-a-eth1 down   (director A dies)\n'
    lab_now
    t_kill="$LAB_NOW"
    ip link set dir-a-eth0 down
    ip link set dir-a-eth1 down
    lab_event "$t_kill" "** director A dies: its links (bridge ports dir-a-eth0, dir-a-eth1) go down"
    lab_ha_wait 30 "director B entering MASTER" lab_ha_seen lab_ha_ka_time b "$t_kill" MASTER
    t_vip_b="$(lab_ha_ka_time b "$t_kill" MASTER)"
    lab_ha_wait 30 "director B's notify script: sync daemon master" lab_ha_seen lab_ha_notified b "$t_kill" master
    lab_ha_active b || lab_ha_fail "B entered MASTER but does not hold the VIP with the master sync daemon ('$(lab_ha_daemons lab-dir-b)')"
    lab_ha_wait 30 "a new connection answered after A died" lab_ha_new_ok_since "$t_kill"
    t_new_b="$(lab_ha_new_ok "$t_kill")"
    lab_event "$t_new_b" "new connections work again: the first answer to one started after A died"
    lab_ha_wait 40 "an echo on each held connection after A died" lab_ha_echoed 1 4 "$t_vip_b"
    lab_now
    lab_event "c1-c4 echo through B"
    lab_run lab-dir-b ipvsadm -L -n -c

    lab_event "client: 4 more held connections c5-c8, through B"
    printf '  [lab-client]# %s &\n' "$(lab_cmdline client-hold.sh VIP="$LAB_VIP" COUNT=4 FIRST=5 STOP="$LAB_FO/stop")"
    lab_in lab-client "$LAB_D/client-hold.sh" VIP="$LAB_VIP" COUNT=4 FIRST=5 PORT="$LAB_HA_PORT" \
        STOP="$LAB_FO/stop" T0="$LAB_T0" </dev/null >>"$LAB_FO/held" 2>&1 &
    lab_now
    t_b_active="$LAB_NOW"
    lab_ha_wait 30 "echoes on c5-c8" lab_ha_echoed 5 8 "$t_b_active"
    lab_ha_wait 30 "director B's table with c5-c8" lab_ha_has lab-dir-b 5 8

    # ---- failback
    lab_log ""
    printf '  [root]# ip link set dir-a-eth0 up; ip link set dir-a-eth1 up   (director A is back)\n'
    lab_now
    t_back="$LAB_NOW"
    ip link set dir-a-eth0 up
    ip link set dir-a-eth1 up
    lab_event "$t_back" "** director A comes back: its links go up"
    # until A takes the VIP back: when did its table get c5-c8 (from B)?
    while [ -z "$(lab_ha_ka_time a "$t_back" MASTER)" ]; do
        if [ -z "$t_synced" ] && lab_ha_has lab-dir-a 1 8; then
            lab_now
            t_synced="$LAB_NOW"
            lab_event "A's table has c1-c8 (c5-c8 synced from B while A is backup)"
        fi
        lab_now
        [ "$((LAB_NOW - t_back))" -lt 60000 ] || lab_ha_fail "director A did not take the VIP back within 60 s"
        sleep 0.5
    done
    t_vip_a="$(lab_ha_ka_time a "$t_back" MASTER)"
    lab_ha_wait 30 "director A's notify script: sync daemon master" lab_ha_seen lab_ha_notified a "$t_back" master
    lab_ha_wait 30 "director B's notify script: sync daemon backup" lab_ha_seen lab_ha_notified b "$t_back" backup
    lab_ha_roles master backup a || lab_ha_fail "after failback: VIP on A: $(lab_ha_vip lab-dir-a && echo yes || echo no), on B: $(lab_ha_vip lab-dir-b && echo yes || echo no); sync daemons A '$(lab_ha_daemons lab-dir-a)', B '$(lab_ha_daemons lab-dir-b)'"
    lab_event "sync daemons: A master, B backup; VIP on A only (checked)"
    lab_ha_wait 30 "a new connection answered after A took the VIP back" lab_ha_new_ok_since "$t_vip_a"
    t_new_a="$(lab_ha_new_ok "$t_vip_a")"
    lab_event "$t_new_a" "the first answer to a new connection started after A took the VIP"
    lab_ha_wait 40 "an echo on each held connection after A took the VIP back" lab_ha_echoed 1 8 "$t_vip_a"
    lab_now
    lab_event "c1-c8 echo through A"
    lab_run lab-dir-a ipvsadm -L -n -c
    lab_until 30 lab_fo_ended "$t_vip_a" 10 || true

    # ---- the end
    lab_event "** clients stop (held connections say bye)"
    lab_client_stop
    lab_ha_wait 30 "the held connections closing" lab_ha_closed 8
    for d in a b; do
        pid="$(lab_in "lab-dir-$d" ipvsadm serve status --json --socket "$LAB_FO/serve-$d.sock" |
            awk -F'[:,]' '$1 ~ /"pid"/ { gsub(/ /, "", $2); print $2; exit }')" || pid=""
        [ -n "$pid" ] || lab_ha_fail "no pid in director ${d^^}'s ipvsadm serve status --json"
        lab_event "** SIGTERM to [${d^^}] ipvsadm serve"
        kill -TERM "$pid"
    done
    for d in a b; do
        lab_ha_wait 30 "director ${d^^}'s ipvsadm serve exiting after SIGTERM" test -s "$LAB_FO/serve-$d.rc"
    done
    # the backup first: stopping the master first would hand B the VIP
    for d in b a; do
        lab_event "** SIGTERM to [${d^^}] keepalived"
        kill -TERM "$(cat "$LAB_FO/keepalived-$d.pid")" 2>/dev/null || true
    done
    for d in a b; do
        lab_ha_wait 30 "director ${d^^}'s keepalived exiting after SIGTERM" test -s "$LAB_FO/ka-$d.rc"
    done
    rc_a="$(cat "$LAB_FO/serve-a.rc")"
    rc_b="$(cat "$LAB_FO/serve-b.rc")"

    lab_log ""
    lab_ha_timeline
    lab_log ""
    # figures
    t_stop="$(awk '/\*\* clients stop/ { print $1; exit }' "$LAB_FO/events")"
    nb="$(lab_ha_survivors 1 4 "$t_vip_b" "$t_stop")"
    na="$(lab_ha_survivors 1 8 "$t_vip_a" "$t_stop")"
    fails="$(lab_ha_fails "$t_kill" "$t_back")"
    ok3=no
    [ "$((t_new_b - t_kill))" -gt 3000 ] || ok3=yes
    lab_log "  failover (A died at t=$t_kill; advert_int 1 s, B's priority 240: B takes over 3 x 1 + 0.06 s after A's last advert):"
    lab_log "    B entered MASTER (VIP) $(lab_fo_secs "$t_vip_b" "$t_kill") s after; new connections answered again $(lab_fo_secs "$t_new_b" "$t_kill") s after (within 3 x advert_int = 3 s: $ok3)"
    lab_log "    new connections started from the death to A's return: $fails failed"
    lab_log "    held connections: $nb of 4 survived through B; longest silence: $(lab_ha_gaps 1 4 "$t_kill" "$t_back")"
    fails="$(lab_ha_fails "$t_back" "$t_stop")"
    lab_log "  failback (A back at t=$t_back; preempt_delay 5 s):"
    if [ -n "$t_synced" ]; then
        lab_log "    A had c1-c8 in its table $(lab_fo_secs "$t_synced" "$t_back") s after (c5-c8 synced from B), and entered MASTER (VIP) $(lab_fo_secs "$t_vip_a" "$t_back") s after"
    else
        lab_log "    A's table did not show c1-c8 before it entered MASTER (VIP), $(lab_fo_secs "$t_vip_a" "$t_back") s after"
    fi
    lab_log "    new connections started from A's return to the end: $fails failed; the first answer to one started after A took the VIP came $(lab_fo_secs "$t_new_a" "$t_vip_a") s after"
    lab_log "    held connections: $na of 8 survived through A (c1-c4 from before the failover, c5-c8 opened through B); longest silence: $(lab_ha_gaps 1 8 "$t_back" "$t_stop")"
    lab_log "    real servers: $(lab_ha_servers 1 8)"
    lab_log ""

    # checks
    if [ "$nb" -eq 4 ]; then
        lab_log "  ok: failover: 4 of 4 held connections echo through B"
    else
        reason="${reason:-failover: $nb of 4 held connections survived}"
        lab_log "  FAILED: failover: $nb of 4 held connections survived"
    fi
    if [ "$na" -eq 8 ]; then
        lab_log "  ok: failback: 8 of 8 held connections echo through A"
    else
        reason="${reason:-failback: $na of 8 held connections survived}"
        lab_log "  FAILED: failback: $na of 8 held connections survived"
    fi
    if awk -v s="$t_stop" '$3 == "END" && $1 < s { bad = 1 } END { exit bad }' "$LAB_FO/held" &&
        [ "$(lab_ha_servers 1 8 | grep -c '+')" -eq 0 ]; then
        lab_log "  ok: no held connection closed before the end, each stayed with one real server"
    else
        reason="${reason:-a held connection closed early or changed server: $(lab_ha_servers 1 8)}"
        lab_log "  FAILED: a held connection closed early or changed server"
    fi
    lab_log "  ok: new connections answered again $(lab_fo_secs "$t_new_b" "$t_kill") s after A died, $(lab_fo_secs "$t_new_a" "$t_vip_a") s after A took the VIP back (limit 30 s)"
    if [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ]; then
        lab_log "  ok: both ipvsadm serve exited with status 0 on SIGTERM"
    else
        reason="${reason:-ipvsadm serve exit statuses on SIGTERM: A $rc_a, B $rc_b}"
        lab_log "  FAILED: ipvsadm serve exit statuses on SIGTERM: A $rc_a, B $rc_b"
    fi
    lab_log "  figures: failover: VIP moved $(lab_fo_secs "$t_vip_b" "$t_kill") s, new connections back $(lab_fo_secs "$t_new_b" "$t_kill") s, held $nb/4; failback: A synced $( [ -n "$t_synced" ] && lab_fo_secs "$t_synced" "$t_back" || echo -) s, VIP back $(lab_fo_secs "$t_vip_a" "$t_back") s, held $na/8"
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
            "scn_${s//-/_}"
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
