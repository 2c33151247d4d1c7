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
    rm -rf "${LAB_TMP:?}"/www-*
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
