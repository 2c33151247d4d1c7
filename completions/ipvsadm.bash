# bash completion for ipvsadm, ipvsadm-save, ipvsadm-restore
# ipvsadm-rs: generated from the flag table by `ipvsadm completions bash`; do not edit.
# shellcheck shell=bash

_ipvsadm() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD - 1]}"
    COMPREPLY=()

    if [ "$COMP_CWORD" -ge 2 ]; then
        case "${COMP_WORDS[1]}" in
        apply)
            case "$cur" in
                -?*) mapfile -t COMPREPLY < <(compgen -W "--dry-run --drain --incremental --wait --verbose --help" -- "$cur") ;;
                *) compopt -o filenames 2>/dev/null
                   mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            esac
            return ;;
        state)
            mapfile -t COMPREPLY < <(compgen -W "--json --help" -- "$cur")
            return ;;
        serve)
            case "$cur" in
                -?*) mapfile -t COMPREPLY < <(compgen -W "--listen --events --socket --on-stop --resync --drain-poll --wait --json --help" -- "$cur") ;;
                *) compopt -o filenames 2>/dev/null
                   mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            esac
            return ;;
        metrics)
            mapfile -t COMPREPLY < <(compgen -W "--per-service --help" -- "$cur")
            return ;;
        import)
            case "$cur" in
                -?*) mapfile -t COMPREPLY < <(compgen -W "--format --help" -- "$cur") ;;
                *) if [ "$COMP_CWORD" -eq 2 ]; then
                       mapfile -t COMPREPLY < <(compgen -W "keepalived" -- "$cur")
                   else
                       compopt -o filenames 2>/dev/null
                       mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                   fi ;;
            esac
            return ;;
        export)
            case "$cur" in
                -?*) mapfile -t COMPREPLY < <(compgen -W "--help" -- "$cur") ;;
                *) if [ "$COMP_CWORD" -eq 2 ]; then
                       mapfile -t COMPREPLY < <(compgen -W "keepalived" -- "$cur")
                   else
                       compopt -o filenames 2>/dev/null
                       mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                   fi ;;
            esac
            return ;;
        version)
            mapfile -t COMPREPLY < <(compgen -W "" -- "$cur")
            return ;;
        completions)
            mapfile -t COMPREPLY < <(compgen -W "bash zsh fish --help" -- "$cur")
            return ;;
        esac
    fi

    case "$prev" in
        --start-daemon)
            mapfile -t COMPREPLY < <(compgen -W "master backup" -- "$cur")
            return ;;
        --stop-daemon)
            mapfile -t COMPREPLY < <(compgen -W "master backup" -- "$cur")
            return ;;
        -t | --tcp-service)
            return ;;
        -u | --udp-service)
            return ;;
        --sctp-service)
            return ;;
        -f | --fwmark-service)
            return ;;
        -s | --scheduler)
            mapfile -t COMPREPLY < <(compgen -W "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh" -- "$cur")
            return ;;
        -M | --netmask)
            return ;;
        -r | --real-server)
            return ;;
        -w | --weight)
            return ;;
        -x | --u-threshold)
            return ;;
        -y | --l-threshold)
            return ;;
        --mcast-interface)
            mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
            return ;;
        --syncid)
            return ;;
        --pe)
            mapfile -t COMPREPLY < <(compgen -W "sip" -- "$cur")
            return ;;
        -b | --sched-flags)
            mapfile -t COMPREPLY < <(compgen -W "flag-1 flag-2 flag-3 sh-fallback sh-port mh-fallback mh-port" -- "$cur")
            return ;;
        --mcast-group)
            return ;;
        --mcast-port)
            return ;;
        --mcast-ttl)
            return ;;
        --sync-maxlen)
            return ;;
        --tun-type)
            mapfile -t COMPREPLY < <(compgen -W "ipip gue gre" -- "$cur")
            return ;;
        --tun-port)
            return ;;
    esac

    if [ "$COMP_CWORD" -le 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "apply state serve metrics import export version completions -A --add-service -E --edit-service -D --delete-service -C --clear -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server --set -h --help -v --version -R --restore -S --save --start-daemon --stop-daemon" -- "$cur")
        return
    fi
    local opts
    case "${COMP_WORDS[1]}" in
        -A | --add-service | -E | --edit-service) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -s --scheduler -p --persistent -M --netmask -6 --ipv6 -o --ops --pe -b --sched-flags" ;;
        -D | --delete-service | -Z | --zero) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -6 --ipv6" ;;
        -C | --clear | --set | -h | --help | -v | --version | -R | --restore) opts="" ;;
        -L | -l | --list) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -n --numeric -c --connection --syncid --timeout --daemon --stats --rate --thresholds --persistent-conn --nosort --sort -X --exact -6 --ipv6 --tun-info --json" ;;
        -a | --add-server | -e | --edit-server) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -r --real-server -m --masquerading -i --ipip -g --gatewaying -w --weight -x --u-threshold -y --l-threshold -6 --ipv6 --tun-type --tun-port --tun-nocsum --tun-csum --tun-remcsum" ;;
        -d | --delete-server) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -r --real-server -6 --ipv6" ;;
        -S | --save) opts="-n --numeric --json" ;;
        --start-daemon) opts="--mcast-interface --syncid --mcast-group --mcast-port --mcast-ttl --sync-maxlen" ;;
        --stop-daemon) opts="--syncid" ;;
        *) opts="-t --tcp-service -u --udp-service --sctp-service -f --fwmark-service -s --scheduler -p --persistent -M --netmask -r --real-server -m --masquerading -i --ipip -g --gatewaying -w --weight -x --u-threshold -y --l-threshold -n --numeric -c --connection --mcast-interface --syncid --timeout --daemon --stats --rate --thresholds --persistent-conn --nosort --sort -X --exact -6 --ipv6 -o --ops --pe -b --sched-flags --mcast-group --mcast-port --mcast-ttl --sync-maxlen --tun-info --tun-type --tun-port --tun-nocsum --tun-csum --tun-remcsum --json" ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}

_ipvsadm_save() {
    mapfile -t COMPREPLY < <(compgen -W "-n" -- "${COMP_WORDS[COMP_CWORD]}")
}

complete -F _ipvsadm ipvsadm
complete -F _ipvsadm_save ipvsadm-save
# ipvsadm-restore reads standard input and takes no arguments.
complete -W "" ipvsadm-restore
