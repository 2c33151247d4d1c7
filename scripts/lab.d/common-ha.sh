# shellcheck shell=bash
# Helpers of the ha-failover scenario (sourced by scenarios.sh after
# common.sh): background roles with time-stamped logs, what the directors
# show (VIP, sync daemons, connection tables), the held connections and the
# timeline. Files live in $LAB_FO (common.sh): events, requests (new
# connections, client-poll.sh), held (client-hold.sh), NAME.log / NAME.rc
# of each background role, notify-a.log / notify-b.log (the notify script).

LAB_HA_PORT=7          # the echo service on the VIP

# lab_bg NS NAME SCRIPT [NAME=VALUE...]: role SCRIPT of lab.d in NS, in the
# background; its output, time-stamped, in $LAB_FO/NAME.log, its exit
# status in $LAB_FO/NAME.rc once it ended.
lab_bg() {
    local ns="$1" name="$2" script="$3"
    shift 3
    printf '  [%s]# %s &\n' "$ns" "$(lab_cmdline "$script" "$@")"
    (
        st=0
        ip netns exec "$ns" "$LAB_D/$script" "$@" </dev/null 2>&1 || st=$?
        echo "$st" >"$LAB_FO/$name.rc"
    ) | lab_stamp >"$LAB_FO/$name.log" &
}

# Polls read the logs where they can: in the emulated VM each `ip netns
# exec` of iproute2 or ipvsadm costs about 0.3 s of CPU, so a loop of them
# would slow down what it watches (keepalived's notify scripts).

# lab_ha_ka_time a|b AFTER STATE: the time of the first line of that
# director's keepalived at or after AFTER (ms) saying it entered STATE
# (MASTER, BACKUP, FAULT); empty if none yet. keepalived adds or removes
# the VIP as it enters the state.
lab_ha_ka_time() {
    awk -v a="$2" -v s="Entering $3 STATE" '$1 >= a && index($0, s) { print $1; exit }' "$LAB_FO/ka-$1.log"
}

# lab_ha_notified a|b AFTER ROLE: the time (ms) of the first line of that
# director's notify script at or after AFTER saying its sync daemon is ROLE
# (master, backup); empty if none yet.
lab_ha_notified() {
    [ -f "$LAB_FO/notify-$1.log" ] || return 0
    awk -v t0="$LAB_T0" -v a="$2" -v s="sync daemon is $3 " '
        index($0, s) { t = int(($1 - t0) * 1000); if (t >= a) { print t; exit } }' "$LAB_FO/notify-$1.log"
}

# lab_ha_seen CMD ARGS...: CMD printed something.
lab_ha_seen() {
    [ -n "$("$@")" ]
}

# lab_ha_vip NS: NS holds the VIP.
lab_ha_vip() {
    ip -n "$1" -o -4 addr show dev eth0 2>/dev/null | grep -q " $LAB_VIP/32 "
}

# lab_ha_daemons NS: NS's running sync daemons ("master", "backup",
# "master backup" or nothing).
lab_ha_daemons() {
    lab_in "$1" ipvsadm -L --daemon 2>/dev/null | awk '$2 == "sync" { printf "%s%s", s, $1; s = " " }'
}

# lab_ha_roles A_DAEMONS B_DAEMONS VIP_ON: the VIP is on director VIP_ON
# (a or b) only, and the sync daemons are as given.
lab_ha_roles() {
    local other=b
    [ "$3" = a ] || other=a
    lab_ha_vip "lab-dir-$3" && ! lab_ha_vip "lab-dir-$other" &&
        [ "$(lab_ha_daemons lab-dir-a)" = "$1" ] && [ "$(lab_ha_daemons lab-dir-b)" = "$2" ]
}

# lab_ha_active a|b: that director holds the VIP and runs the master sync
# daemon only.
lab_ha_active() {
    lab_ha_vip "lab-dir-$1" && [ "$(lab_ha_daemons "lab-dir-$1")" = master ]
}

# lab_ha_closed N: N held connections have ended.
lab_ha_closed() {
    [ "$(awk '$3 == "END" { n++ } END { print n + 0 }' "$LAB_FO/held")" -ge "$1" ]
}

# lab_ha_has NS FIRST LAST: NS's connection table has the held connections
# FIRST..LAST (their client ports: the OPEN lines of client-hold.sh) as
# ESTABLISHED.
lab_ha_has() {
    local ns="$1" first="$2" last="$3"
    lab_in "$ns" ipvsadm -L -n -c 2>/dev/null | awk -v c="$LAB_CLIENT" -v v="$LAB_VIP:$LAB_HA_PORT" \
        -v f="$first" -v l="$last" -v held="$LAB_FO/held" '
        BEGIN { while ((getline x < held) > 0) { split(x, w, " "); if (w[3] == "OPEN") port[substr(w[2], 2) + 0] = w[4] } }
        $3 == "ESTABLISHED" && $5 == v { split($4, s, ":"); if (s[1] == c) have[s[2]] = 1 }
        END { for (i = f; i <= l; i++) if (!(i in port) || !(port[i] in have)) exit 1 }'
}

# lab_ha_echoed FIRST LAST AFTER: each held connection FIRST..LAST has an
# echo received after AFTER (ms), or has ended.
lab_ha_echoed() {
    awk -v f="$1" -v l="$2" -v a="$3" '
        $3 == "OPEN" { next }
        { i = substr($2, 2) + 0 }
        $3 == "END" { done[i] = 1; next }
        $1 > a { done[i] = 1 }
        END { for (i = f; i <= l; i++) if (!(i in done)) exit 1 }' "$LAB_FO/held"
}

# lab_ha_survivors FIRST LAST AFTER [UNTIL]: how many of the held
# connections FIRST..LAST echoed after AFTER (ms) and did not end before
# UNTIL (ms; default: ever).
lab_ha_survivors() {
    awk -v f="$1" -v l="$2" -v a="$3" -v u="${4:-}" '
        $3 == "OPEN" { next }
        { i = substr($2, 2) + 0 }
        $3 == "END" { if (u == "" || $1 < u + 0) dead[i] = 1; next }
        $1 > a { ok[i] = 1 }
        END { for (i = f; i <= l; i++) if ((i in ok) && !(i in dead)) n++; print n + 0 }' "$LAB_FO/held"
}

# lab_ha_gaps FIRST LAST FROM TO: per held connection, the longest time
# without an echo between FROM and TO (ms), "c1 3.41 c2 3.02 ...", then
# "max S".
lab_ha_gaps() {
    awk -v f="$1" -v l="$2" -v from="$3" -v to="$4" '
        $3 == "END" || $3 == "OPEN" { next }
        { i = substr($2, 2) + 0; t = $1 + 0
          if (t >= from && (i in last) && t - last[i] > gap[i] && last[i] <= to) gap[i] = t - last[i]
          last[i] = t }
        END { for (i = f; i <= l; i++) { printf "c%d %.2f ", i, gap[i] / 1000; if (gap[i] > m) m = gap[i] }
              printf "max %.2f\n", m / 1000 }' "$LAB_FO/held"
}

# lab_ha_servers FIRST LAST: "c1 Webserver 1, c2 Webserver 2, ..." (the
# server of each held connection); a connection answered by two servers
# shows both (which would mean it was not the same connection).
lab_ha_servers() {
    awk -v f="$1" -v l="$2" '
        $3 == "END" || $3 == "OPEN" { next }
        { i = substr($2, 2) + 0; s = $3 " " $4; if (!((i, s) in seen)) { seen[i, s] = 1; srv[i] = srv[i] (srv[i] == "" ? "" : "+") $4 } }
        END { for (i = f; i <= l; i++) printf "%sc%d: Webserver %s", (i > f ? ", " : ""), i, srv[i]; print "" }' "$LAB_FO/held"
}

# lab_ha_new_ok FROM: when new connections worked again after FROM (ms):
# the end time of the first answer to a connection started at or after FROM
# that came after the end of the first failed one (answers before that went
# the old way, before the change took effect); without failures, the first
# answer. Empty if none (yet).
lab_ha_new_ok() {
    sort -n "$LAB_FO/requests" | awk -v f="$1" '
        $1 < f { next }
        $3 == "FAIL" { if (fe == "") fe = $2; next }
        $3 == "Webserver" { n++; e[n] = $2 }
        END {
            for (i = 1; i <= n; i++) if ((fe == "" || e[i] > fe) && (m == "" || e[i] < m)) m = e[i]
            if (m != "") print m
        }'
}

# lab_ha_new_ok_since FROM: a new connection started at or after FROM was answered.
lab_ha_new_ok_since() {
    [ -n "$(lab_ha_new_ok "$1")" ]
}

# lab_ha_fails FROM TO: "N of M FIRST..LAST": of the M new connections
# started in [FROM, TO), N failed, started from FIRST to LAST (ms).
lab_ha_fails() {
    awk -v f="$1" -v t="$2" '$1 >= f && $1 < t { m++ } $1 >= f && $1 < t && $3 == "FAIL" { n++; if (a == "") a = $1; b = $1 }
        END { printf "%d of %d", n, m; if (n) printf " (started t=%d..%d)", a, b; print "" }' "$LAB_FO/requests"
}

# lab_ha_notify_log NAME LABEL: the notify script's log (epoch seconds
# first) as "MS LABEL MESSAGE" lines of the timeline: the outcome lines only.
lab_ha_notify_log() {
    [ -f "$LAB_FO/$1" ] || return 0
    awk -v t0="$LAB_T0" -v lab="$2" '
        / sync daemon is | FAILED / {
            t = $1; $1 = ""; $2 = ""; sub(/^  /, "")
            printf "%d %s %s\n", (t - t0) * 1000, lab, $0
        }' "$LAB_FO/$1"
}

# lab_ha_timeline: events, keepalived's state changes, the notify script's
# results, the daemons' state changes, new connections (runs of symbols)
# and the held connections' gaps, in time order.
lab_ha_timeline() {
    lab_log "  timeline (ms since the start; new connections by start time: 1 / 2 = answered by"
    lab_log "  Webserver 1 / 2, x = failed at once, T = no answer within 1 s; [A]/[B]: keepalived's"
    lab_log "  and the notify script's lines, stamped when read; held cN: the long-lived connections):"
    {
        awk '{ t = $1; $1 = ""; print t, 0, "E" $0 }' "$LAB_FO/events"
        for d in a b; do
            local D="${d^^}"
            # keepalived: state changes and the preemption's decisions
            awk -v d="$D" '/Entering|lower priority|higher priority|Netlink reports/ {
                t = $1; $1 = ""; sub(/^ [A-Z][a-z][a-z] [A-Z][a-z][a-z] +[0-9]+ [0-9:]+ [0-9]+: /, "")
                print t, 0, "E [" d "] keepalived: " $0 }' "$LAB_FO/ka-$d.log"
            lab_ha_notify_log "notify-$d.log" "[$D] notify:" | awk '{ t = $1; $1 = ""; print t, 0, "E" $0 }'
            awk -v d="$D" '/^[0-9]+ (\+ |  )/ { next } / ipvsadm serve: .* -> / {
                t = $1; $1 = ""; sub(/^ ipvsadm serve: /, ""); print t, 0, "E [" d "] daemon: " $0 }' "$LAB_FO/serve-$d.log"
        done
        awk '{ print $1, 1, "R", $2, $3 " " $4 }' "$LAB_FO/requests"
        # held connections: "echoes again after a gap" (over 1.5 s) and ends
        awk '$3 == "OPEN" { print $1, 0, "E held " $2 ": connection open (client port " $4 ")"; next }
            $3 == "END" { r = $0; sub(/^[0-9]+ [^ ]+ END ?/, "", r); print $1, 0, "E held " $2 ": connection ended" (r == "" ? "" : " (" r ")"); next }
            { if (($2 in last) && $1 - last[$2] > 1500)
                  printf "%d 0 E held %s: echo again (%s %s) after %.2f s without\n", $1, $2, $3, $4, ($1 - last[$2]) / 1000
              last[$2] = $1 }' "$LAB_FO/held"
    } | lab_timeline_print "new connections"
}

# lab_ha_wait SECS WHAT CMD...: run CMD every 0.3 s until it succeeds, or
# fail the scenario (timeline shown) with "WHAT not within SECS s".
lab_ha_wait() {
    local secs="$1" what="$2" t end
    shift 2
    t="$EPOCHREALTIME"
    end=$((10#${t/[.,]/} + secs * 1000000))
    while ! "$@" >/dev/null 2>&1; do
        t="$EPOCHREALTIME"
        [ "$((10#${t/[.,]/}))" -lt "$end" ] || lab_ha_fail "$what not within $secs s"
        sleep 0.3
    done
}

# lab_ha_fail REASON: stop the clients, show the timeline so far, fail.
lab_ha_fail() {
    : >"$LAB_FO/stop"
    lab_client_stop
    lab_log "  FAILED: $*"
    lab_run lab-dir-a ipvsadm -L -n -c
    lab_run lab-dir-b ipvsadm -L -n -c
    lab_log ""
    lab_ha_timeline
    lab_fail "$@"
}
