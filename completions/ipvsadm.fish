# fish completion for ipvsadm, ipvsadm-save, ipvsadm-restore
# ipvsadm-rs: generated from the flag table by `ipvsadm completions fish`; do not edit.

# The words typed so far, without the one being completed.
function __ipvsadm_first_word
    test (count (commandline -opc)) -eq 1
end

# After one of the commands $argv in first position; after any bundle such
# as -Ln (not a command word on its own).
function __ipvsadm_after_command
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and string match -q -- '-*' $words[2]
    or return 1
    contains -- $words[2] $argv
    or not contains -- $words[2] -A --add-service -E --edit-service -D --delete-service -C --clear -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server --set -h --help -v --version -R --restore -S --save --start-daemon --stop-daemon
end

# Right after the command $argv (for its value: --start-daemon master).
function __ipvsadm_command_value
    set -l words (commandline -opc)
    test (count $words) -eq 2
    and contains -- $words[2] $argv
end

# After the subcommand $argv[1].
function __ipvsadm_subcommand
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and test "$words[2]" = $argv[1]
end

complete -c ipvsadm -f
complete -c ipvsadm-save -f
complete -c ipvsadm-restore -f
complete -c ipvsadm-save -s n -d 'Numeric output of addresses and ports'

# Commands (first word).
complete -c ipvsadm -n __ipvsadm_first_word -s A -l add-service -d 'Add a virtual service'
complete -c ipvsadm -n __ipvsadm_first_word -s E -l edit-service -d 'Edit a virtual service (a full replace: unspecified options return to their defaults)'
complete -c ipvsadm -n __ipvsadm_first_word -s D -l delete-service -d 'Delete a virtual service and its real servers'
complete -c ipvsadm -n __ipvsadm_first_word -s C -l clear -d 'Clear the whole virtual server table'
complete -c ipvsadm -n __ipvsadm_first_word -s L -s l -l list -d 'List the virtual server table (all of it, or one service)'
complete -c ipvsadm -n __ipvsadm_first_word -s Z -l zero -d 'Zero the counters of one service or of all services'
complete -c ipvsadm -n __ipvsadm_first_word -s a -l add-server -d 'Add a real server to a virtual service'
complete -c ipvsadm -n __ipvsadm_first_word -s e -l edit-server -d 'Edit a real server (a full replace: unspecified options return to their defaults)'
complete -c ipvsadm -n __ipvsadm_first_word -s d -l delete-server -d 'Delete a real server from a virtual service'
complete -c ipvsadm -n __ipvsadm_first_word -l set -d 'Set the TCP, TCP FIN and UDP connection timeouts in seconds (0 = unchanged)'
complete -c ipvsadm -n __ipvsadm_first_word -s h -l help -d 'Show the usage text'
complete -c ipvsadm -n __ipvsadm_first_word -s v -l version -d 'Show the version'
complete -c ipvsadm -n __ipvsadm_first_word -s R -l restore -d 'Restore rules from standard input, one ipvsadm command per line'
complete -c ipvsadm -n __ipvsadm_first_word -s S -l save -d 'Save the rules to standard output in a form -R reads back'
complete -c ipvsadm -n __ipvsadm_first_word -l start-daemon -x -a 'master backup' -d 'Start the connection synchronisation daemon'
complete -c ipvsadm -n __ipvsadm_first_word -l stop-daemon -x -a 'master backup' -d 'Stop the connection synchronisation daemon'
complete -c ipvsadm -n '__ipvsadm_command_value --start-daemon' -x -a 'master backup' -d 'master|backup'
complete -c ipvsadm -n '__ipvsadm_command_value --stop-daemon' -x -a 'master backup' -d 'master|backup'

# Options (after the command).
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service -D --delete-service -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server' -s t -l tcp-service -x -d 'TCP virtual service host[:port]'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service -D --delete-service -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server' -s u -l udp-service -x -d 'UDP virtual service host[:port]'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service -D --delete-service -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server' -l sctp-service -x -d 'SCTP virtual service host[:port]'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service -D --delete-service -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server' -s f -l fwmark-service -x -d 'Firewall-mark virtual service (an integer greater than zero)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -s s -l scheduler -x -a 'rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh' -d 'Scheduling algorithm: rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -s p -l persistent -d 'Make the service persistent, with an optional timeout in seconds (default 360)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -s M -l netmask -x -d 'Persistence granularity mask (IPv4 mask or IPv6 prefix length)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server -d --delete-server' -s r -l real-server -x -d 'Real server host[:port]'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s m -l masquerading -d 'Forward by masquerading (NAT)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s i -l ipip -d 'Forward by tunnelling (IP-in-IP, GUE or GRE)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s g -l gatewaying -d 'Forward by direct routing (the default)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s w -l weight -x -d 'Weight of the real server (default 1)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s x -l u-threshold -x -d 'Upper connection threshold of the real server'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -s y -l l-threshold -x -d 'Lower connection threshold of the real server'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list -S --save' -s n -l numeric -d 'Numeric output of addresses and ports'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -s c -l connection -d 'List the current IPVS connections'
complete -c ipvsadm -n '__ipvsadm_after_command --start-daemon' -l mcast-interface -x -a '(__fish_print_interfaces)' -d 'Multicast interface of the sync daemon (default eth0)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list --start-daemon --stop-daemon' -l syncid -x -d 'Sync daemon id, 0-255 (default 0)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l timeout -d 'List the timeouts (tcp tcpfin udp)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l daemon -d 'List the sync daemons'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l stats -d 'List with traffic counters'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l rate -d 'List with rates'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l thresholds -d 'List with thresholds'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l persistent-conn -d 'List with persistent connection counts'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l nosort -d 'Do not sort services and real servers'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l sort -d 'Does nothing (sorting is the default)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -s X -l exact -d 'Print exact numbers, not K/M/G/T abbreviations'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service -D --delete-service -L -l --list -Z --zero -a --add-server -e --edit-server -d --delete-server' -s 6 -l ipv6 -d 'The firewall-mark service is IPv6 (after -f)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -s o -l ops -d 'One-packet scheduling (UDP and fwmark services)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -l pe -x -a 'sip' -d 'Persistence engine (sip)'
complete -c ipvsadm -n '__ipvsadm_after_command -A --add-service -E --edit-service' -s b -l sched-flags -x -a 'flag-1 flag-2 flag-3 sh-fallback sh-port mh-fallback mh-port' -d 'Scheduler flags, comma-separated: flag-1,flag-2,flag-3, sh-fallback,sh-port, mh-fallback,mh-port'
complete -c ipvsadm -n '__ipvsadm_after_command --start-daemon' -l mcast-group -x -d 'Sync multicast group (default 224.0.0.81)'
complete -c ipvsadm -n '__ipvsadm_after_command --start-daemon' -l mcast-port -x -d 'Sync UDP port (default 8848)'
complete -c ipvsadm -n '__ipvsadm_after_command --start-daemon' -l mcast-ttl -x -d 'Sync multicast TTL (default 1)'
complete -c ipvsadm -n '__ipvsadm_after_command --start-daemon' -l sync-maxlen -x -d 'Maximum sync message length (default 1472)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list' -l tun-info -d 'List with tunnel information'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -l tun-type -x -a 'ipip gue gre' -d 'Tunnel type: ipip|gue|gre (default ipip)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -l tun-port -x -d 'Tunnel destination port (GUE)'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -l tun-nocsum -d 'Tunnel encapsulation without checksum'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -l tun-csum -d 'Tunnel encapsulation with checksum'
complete -c ipvsadm -n '__ipvsadm_after_command -a --add-server -e --edit-server' -l tun-remcsum -d 'Tunnel encapsulation with remote checksum (GUE)'
complete -c ipvsadm -n '__ipvsadm_after_command -L -l --list -S --save' -l json -d 'With -L or -S: print JSON (every field, 64-bit counters) instead of text'

# Subcommands.
complete -c ipvsadm -n __ipvsadm_first_word -a apply -d 'Make the IPVS tables match a rules or JSON file'
complete -c ipvsadm -n __ipvsadm_first_word -a state -d 'Print the whole IPVS state as rules or JSON'
complete -c ipvsadm -n __ipvsadm_first_word -a serve -d 'Apply a file, then keep it applied and every real server\'s weight matching its health'
complete -c ipvsadm -n __ipvsadm_first_word -a metrics -d 'Print one Prometheus scrape of the IPVS tables'
complete -c ipvsadm -n __ipvsadm_first_word -a import -d 'Print keepalived.conf as the document serve and apply read'
complete -c ipvsadm -n __ipvsadm_first_word -a export -d 'Print a serve/apply document, or the running state, as keepalived.conf'
complete -c ipvsadm -n __ipvsadm_first_word -a version -d 'Print ipvsadm-rs\'s own name and version'
complete -c ipvsadm -n __ipvsadm_first_word -a completions -d 'Print a shell completion script'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l dry-run -d 'Print the changes as ipvsadm commands, change nothing'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l drain -d 'Set real servers to remove that have connections to weight 0'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l incremental -d 'Diff against the record of the last apply, read only what differs'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l wait -d 'Seconds to wait while another run changes the tables'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l verbose -d 'Say on standard error how the state was read'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand apply' -F
complete -c ipvsadm -n '__ipvsadm_subcommand state' -l json -d 'Print JSON instead of rules'
complete -c ipvsadm -n '__ipvsadm_subcommand state' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l listen -d 'Serve GET /metrics (Prometheus) and GET / (a status page) over HTTP on [ADDR:]PORT (localhost by default); read-only'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l events -d 'Append state changes, reloads and repairs to PATH as JSON lines (- for stdout)'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l socket -d 'Control socket of the daemon'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l on-stop -d 'What SIGTERM does to the table: leave (default) or remove'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l resync -d 'Seconds between comparisons of the whole table with the file'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l drain-poll -d 'Seconds between reads of the connections of draining servers'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l wait -d 'Seconds to wait while another run changes the tables'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l json -d 'serve status: print JSON'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand serve' -F
complete -c ipvsadm -n '__ipvsadm_subcommand metrics' -l per-service -d 'No real-server series, sums per service instead'
complete -c ipvsadm -n '__ipvsadm_subcommand metrics' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand import' -l format -d 'json (default) or rules with #@ health lines'
complete -c ipvsadm -n '__ipvsadm_subcommand import' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand import' -a 'keepalived'
complete -c ipvsadm -n '__ipvsadm_subcommand import' -F
complete -c ipvsadm -n '__ipvsadm_subcommand export' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand export' -a 'keepalived'
complete -c ipvsadm -n '__ipvsadm_subcommand export' -F
complete -c ipvsadm -n '__ipvsadm_subcommand completions' -l help -d 'Show the usage text'
complete -c ipvsadm -n '__ipvsadm_subcommand completions' -a 'bash zsh fish'
