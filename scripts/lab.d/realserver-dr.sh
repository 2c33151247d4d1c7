#!/usr/bin/env bash
# Role: real server for a direct-routing (-g) director.
# The director only rewrites the MAC address, so the server must accept
# packets for the VIP (VIP/32 on lo) without answering ARP for it
# (arp_ignore=1, arp_announce=2), and replies straight to the client.
#
#   realserver-dr.sh VIP=192.0.2.1 BODY="Webserver 1" [DEV=eth0] [DOCROOT=...] [PORT=80]
#
# DEV: the interface facing the director and the clients.
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${BODY:?BODY is required}"
DEV="${DEV:-eth0}"

sysctl_set() { echo "+ sysctl $1=$2"; echo "$2" >"/proc/sys/${1//.//}"; }

sysctl_set net.ipv4.conf.all.arp_ignore 1
sysctl_set net.ipv4.conf.all.arp_announce 2
sysctl_set "net.ipv4.conf.$DEV.arp_ignore" 1
sysctl_set "net.ipv4.conf.$DEV.arp_announce" 2
run ip addr replace "$VIP/32" dev lo
exec "$here/webserver.sh"
