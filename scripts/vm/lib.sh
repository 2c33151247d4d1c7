# shellcheck shell=bash
# Real-kernel test lab: boot Debian's 6.1 cloud kernel (IPVS as modules) under
# qemu (TCG software emulation) with a small initramfs, run a guest script in
# it and hand back its output and exit status.
#
# Source this file from a bash script that runs with `set -euo pipefail`.
#
# Functions:
#   vm_ensure_host_packages        apt-get install what the lab needs (if missing)
#   vm_ensure_kernel               fetch + unpack linux-image-<ver>-cloud-amd64 into the cache;
#                                  sets VM_KVER, VM_KROOT, VM_VMLINUZ, VM_MODDIR
#   vm_build_initramfs OUT PAYLOAD_DIR GUEST_SCRIPT
#   vm_boot INITRAMFS [--icount] [--timeout SECS] [--mem MB] [--smp N]
#                                  streams the console to stdout, returns the guest's status
#                                  (124: timed out or no @@VM-EXIT marker); the console
#                                  log is kept in $VM_LOG (default $VM_CACHE/last-boot.log)
#
# Environment knobs:
#   IPVSADM_RS_CACHE        cache dir (default ~/.cache/ipvsadm-rs)
#   VM_EXTRA_MODULES        extra kernel module names to ship and modprobe (space separated)
#   VM_QEMU_EXTRA           extra qemu arguments (word split)
#   VM_APPEND_EXTRA         extra kernel command line
#   VM_COMPRESS             gzip | zstd (default gzip; both boot equally fast)
#   VM_BIOS                 firmware for qemu -bios (default qboot.rom when present: boots as
#                           fast as SeaBIOS and prints no escape sequences; set empty for SeaBIOS)
#   VM_DEFAULT_SMP          vCPUs for non-icount boots (default 2: MTTCG runs them in parallel)
#   VM_LOG                  where vm_boot keeps the console log

VM_CACHE="${IPVSADM_RS_CACHE:-${HOME:-/root}/.cache/ipvsadm-rs}"
VM_LOG="${VM_LOG:-$VM_CACHE/last-boot.log}"
# vCPUs for plain (non-icount) boots: MTTCG runs 2 vCPUs on 2 host threads.
VM_DEFAULT_SMP="${VM_DEFAULT_SMP:-2}"

# Modules the guest must load (a failure aborts the guest with status 125).
VM_REQUIRED_MODULES="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip veth dummy"
# Modules loaded when present (a failure prints a warning only).
VM_OPTIONAL_MODULES="ip_vs_ftp bridge ipip fou fou6 ip_gre ip6_tunnel tunnel6 sit ip6_gre xt_ipvs"

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

_vm_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_vm_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

_VM_APT_UPDATED=0
_vm_apt_update_once() {
    if [ "$_VM_APT_UPDATED" -eq 0 ]; then
        vm_log "apt-get update"
        _vm_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        _VM_APT_UPDATED=1
    fi
}

vm_ensure_host_packages() {
    local want=(qemu-system-x86 busybox-static cpio gzip zstd ipvsadm iproute2 bash kmod netbase)
    command -v python3 >/dev/null 2>&1 || want+=(python3)
    vm_ensure_packages "${want[@]}"
}

# apt-get install those of the packages named that are missing.
vm_ensure_packages() {
    local want=("$@")
    local missing=() p
    for p in "${want[@]}"; do
        _vm_pkg_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        _vm_apt_update_once
        vm_log "apt-get install ${missing[*]}"
        _vm_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    fi
}

# Name of the versioned kernel package that linux-image-cloud-amd64 depends on.
_vm_kernel_pkg_name() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

vm_ensure_kernel() {
    local pkg
    pkg="$(_vm_kernel_pkg_name || true)"
    if [ -z "$pkg" ]; then
        _vm_apt_update_once
        pkg="$(_vm_kernel_pkg_name || true)"
    fi
    mkdir -p "$VM_CACHE/kernel"
    if [ -z "$pkg" ]; then
        # Offline: fall back to whatever is already unpacked in the cache.
        pkg="$(find "$VM_CACHE/kernel" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' \
            -printf '%f\n' 2>/dev/null | sort -V | tail -n1)"
        [ -n "$pkg" ] || vm_die "cannot find the package linux-image-cloud-amd64 depends on"
        vm_log "apt-cache gave nothing; re-using cached $pkg"
    fi
    local root="$VM_CACHE/kernel/$pkg"
    if [ ! -f "$root/.unpacked" ]; then
        local deb
        deb="$(find "$VM_CACHE" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n1)"
        if [ -z "$deb" ]; then
            vm_log "apt-get download $pkg"
            # apt warns when _apt cannot write the target dir; download into a
            # world-writable temp dir to keep it quiet, then move.
            local dl
            dl="$(mktemp -d)"
            chmod 777 "$dl"
            (cd "$dl" && apt-get download -q "$pkg" >&2)
            mv "$dl"/"${pkg}"_*.deb "$VM_CACHE/"
            rmdir "$dl"
            deb="$(find "$VM_CACHE" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n1)"
        fi
        vm_log "unpacking $(basename "$deb")"
        rm -rf "$root" "$root.tmp"
        mkdir -p "$root.tmp"
        dpkg-deb -x "$deb" "$root.tmp"
        local kver
        kver="$(basename "$(find "$root.tmp/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")"
        # modules.dep of the whole tree: used to pick the closure of what we ship.
        depmod -b "$root.tmp" "$kver"
        touch "$root.tmp/.unpacked"
        mv "$root.tmp" "$root"
    fi
    VM_KROOT="$root"
    VM_KVER="$(basename "$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")"
    VM_MODDIR="$root/lib/modules/$VM_KVER"
    VM_VMLINUZ="$root/boot/vmlinuz-$VM_KVER"
    [ -f "$VM_VMLINUZ" ] || vm_die "no vmlinuz in $root"
    export VM_KROOT VM_KVER VM_MODDIR VM_VMLINUZ
}

# Print the module files (relative to the modules dir) needed to load the
# given module names, dependencies included. Unknown names are skipped.
_vm_module_closure() {
    local moddir="$1"
    shift
    awk -v want="$*" '
        BEGIN { n = split(want, w, /[ \t\n]+/); for (i = 1; i <= n; i++) if (w[i] != "") wanted[w[i]] = 1 }
        {
            file = $1; sub(/:$/, "", file)
            name = file; sub(/.*\//, "", name); sub(/\.ko(\.[a-z]+)?$/, "", name); gsub(/-/, "_", name)
            deps[file] = ""
            for (i = 2; i <= NF; i++) deps[file] = deps[file] " " $i
            byname[name] = file
        }
        function add(f,   k, n, d) {
            if (f in seen) return
            seen[f] = 1
            print f
            n = split(deps[f], d, " ")
            for (k = 1; k <= n; k++) add(d[k])
        }
        END {
            for (m in wanted) {
                mm = m; gsub(/-/, "_", mm)
                if (mm in byname) add(byname[mm])
            }
        }' "$moddir/modules.dep"
}

_vm_is_elf() {
    [ -f "$1" ] && [ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' \n')" = '177ELF' ]
}

# Copy the shared libraries (and the loader) of ELF file $2 into root $1.
_vm_copy_libs() {
    local root="$1" elf="$2" out lib
    if ! out="$(ldd "$elf" 2>&1)"; then
        # static executables and non-executables: nothing to do
        return 0
    fi
    if grep -q 'not found' <<<"$out"; then
        vm_die "ldd $elf: missing libraries:"$'\n'"$out"
    fi
    while read -r lib; do
        [ -e "$root$lib" ] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done < <(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' <<<"$out")
}

# Copy host file $1 to $root/$2 (dereferencing symlinks), creating dirs.
_vm_install() {
    local root="$1" src="$2" dst="$3"
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$src" "$root$dst"
}

_vm_write_init() {
    local root="$1"
    cat >"$root/init" <<EOF
#!/bin/busybox sh
# generated by scripts/vm/lib.sh
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
hostname ipvs-vm
# busybox sh prefers its own applets: call iproute2 by full path.
/sbin/ip link set lo up

fatal() {
    echo "vm-init: FATAL: \$*"
    echo
    echo "@@VM-EXIT 125@@"
    sync
    poweroff -f
}
for m in ${VM_REQUIRED_MODULES//$'\n'/ }; do
    modprobe "\$m" || fatal "modprobe \$m failed"
done
for m in ${VM_OPTIONAL_MODULES//$'\n'/ } \$(cat /etc/vm-extra-modules 2>/dev/null); do
    modprobe "\$m" 2>/dev/null || echo "vm-init: warning: modprobe \$m failed (optional)"
done
[ -e /proc/net/ip_vs ] || fatal "/proc/net/ip_vs missing after modprobe ip_vs"
# keep kernel chatter (bridge/veth notices, ...) off the console so it does
# not split test output lines; 'dmesg' still has it all
echo 1 >/proc/sys/kernel/printk

export PATH=/opt/payload/bin:/sbin:/usr/sbin:/bin:/usr/bin
export IPVS_ORACLE=/opt/oracle/ipvsadm
export IPVS_OURS=/opt/payload/bin/ipvsadm
export IPVS_IN_VM=1
export HOME=/root TMPDIR=/tmp USER=root LOGNAME=root TERM=dumb
export RUST_BACKTRACE=1
cd /root
if [ "\$(head -c2 /opt/guest.sh)" = '#!' ]; then
    /opt/guest.sh </dev/null
else
    /bin/bash /opt/guest.sh </dev/null
fi
st=\$?
echo
echo "@@VM-EXIT \$st@@"
sync
poweroff -f
EOF
    chmod 755 "$root/init"
}

vm_build_initramfs() {
    [ "$#" -eq 3 ] || vm_die "usage: vm_build_initramfs OUT PAYLOAD_DIR GUEST_SCRIPT"
    local out="$1" payload="$2" guest="$3"
    [ -d "$payload" ] || vm_die "payload dir $payload does not exist"
    [ -f "$guest" ] || vm_die "guest script $guest does not exist"
    [ -n "${VM_MODDIR:-}" ] || vm_ensure_kernel

    local root
    root="$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX")"

    # merged-/usr layout, like the host, so ldd paths land where ld.so looks
    mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,dev,proc,sys,tmp,run,root,var,opt/oracle,opt/payload}
    # mktemp made the root 0700: open it to the unprivileged users some
    # tests run programs as
    chmod 755 "$root"
    chmod 1777 "$root/tmp"
    ln -s usr/bin "$root/bin"
    ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    ln -s /run "$root/var/run"
    ln -s /tmp "$root/var/tmp"
    mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
    mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

    # busybox and its applet links (never 'ip': iproute2's must win)
    cp -L /bin/busybox "$root/usr/bin/busybox"
    local applet
    while read -r applet; do
        case "${applet##*/}" in ip | sh | bash | busybox) continue ;; esac
        local dst="$root/usr/${applet#usr/}"
        [ -e "$dst" ] || [ -L "$dst" ] || ln -s /usr/bin/busybox "$dst"
    done < <(/bin/busybox --list-full)

    # real programs
    local elfs=()
    _vm_install "$root" /usr/sbin/ip /usr/sbin/ip && elfs+=(/usr/sbin/ip)
    _vm_install "$root" /usr/bin/bash /usr/bin/bash && elfs+=(/usr/bin/bash)
    ln -s bash "$root/usr/bin/sh"
    _vm_install "$root" /usr/sbin/ipvsadm /opt/oracle/ipvsadm && elfs+=(/usr/sbin/ipvsadm)
    _vm_install "$root" /usr/sbin/ipvsadm-save /opt/oracle/ipvsadm-save
    _vm_install "$root" /usr/sbin/ipvsadm-restore /opt/oracle/ipvsadm-restore
    # the upstream save/restore scripts reset PATH and call plain 'ipvsadm':
    # make that the oracle too
    ln -s /opt/oracle/ipvsadm "$root/usr/sbin/ipvsadm"
    ln -s /opt/oracle/ipvsadm-save "$root/usr/sbin/ipvsadm-save"
    ln -s /opt/oracle/ipvsadm-restore "$root/usr/sbin/ipvsadm-restore"

    # /etc
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    # a few documentation-range names, so that listings without -n resolve
    # something in the differential tests
    printf '%s\n' '127.0.0.1	localhost' '::1	localhost ip6-localhost ip6-loopback' \
        '192.0.2.1	vip1.example.test' '198.51.100.1	rs1.example.test' \
        '2001:db8::80	vip6.example.test' >"$root/etc/hosts"
    printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\nnetworks: files\n' \
        >"$root/etc/nsswitch.conf"
    echo ipvs-vm >"$root/etc/hostname"
    local f
    for f in /etc/services /etc/protocols /etc/networks; do
        [ -f "$f" ] && cp -L "$f" "$root$f"
    done
    [ -d /etc/iproute2 ] && cp -rL /etc/iproute2 "$root/etc/iproute2"
    [ -d /usr/share/iproute2 ] && mkdir -p "$root/usr/share" && cp -rL /usr/share/iproute2 "$root/usr/share/iproute2"
    tr -s ' \t' '\n' <<<"${VM_EXTRA_MODULES:-}" >"$root/etc/vm-extra-modules"

    # kernel modules: closure of what the init loads
    local kmods="$root/usr/lib/modules/$VM_KVER" m
    mkdir -p "$kmods"
    # shellcheck disable=SC2086
    while read -r m; do
        mkdir -p "$kmods/$(dirname "$m")"
        cp "$VM_MODDIR/$m" "$kmods/$m"
    done < <(_vm_module_closure "$VM_MODDIR" $VM_REQUIRED_MODULES $VM_OPTIONAL_MODULES ${VM_EXTRA_MODULES:-})
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ -f "$VM_MODDIR/$f" ] && cp "$VM_MODDIR/$f" "$kmods/$f"
    done
    depmod -b "$root" "$VM_KVER"

    # payload
    cp -a "$payload"/. "$root/opt/payload/"
    while IFS= read -r -d '' f; do
        _vm_is_elf "$f" && elfs+=("$f")
    done < <(find "$root/opt/payload" -type f -print0)

    local e
    for e in "${elfs[@]}"; do
        _vm_copy_libs "$root" "$e"
    done

    cp "$guest" "$root/opt/guest.sh"
    chmod 755 "$root/opt/guest.sh"
    _vm_write_init "$root"

    local compress="${VM_COMPRESS:-gzip}"
    mkdir -p "$(dirname "$out")"
    case "$compress" in
        zstd) (cd "$root" && find . -print0 | LC_ALL=C sort -z |
            cpio --null -o -H newc --owner=0:0 --quiet | zstd -q -T0 -3 -c) >"$out.tmp" ;;
        gzip) (cd "$root" && find . -print0 | LC_ALL=C sort -z |
            cpio --null -o -H newc --owner=0:0 --quiet | gzip -1 -c) >"$out.tmp" ;;
        *) vm_die "VM_COMPRESS must be gzip or zstd" ;;
    esac
    mv "$out.tmp" "$out"
    rm -rf "$root"
}

vm_boot() {
    local initrd="" icount=0 timeout=600 mem=1024 smp=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --icount) icount=1 ;;
            --timeout) timeout="$2"; shift ;;
            --mem) mem="$2"; shift ;;
            --smp) smp="$2"; shift ;;
            -*) vm_die "vm_boot: unknown option $1" ;;
            *) initrd="$1" ;;
        esac
        shift
    done
    [ -f "$initrd" ] || vm_die "vm_boot: initramfs '$initrd' not found"
    [ -n "${VM_VMLINUZ:-}" ] || vm_ensure_kernel

    local accel=(-accel tcg)
    if [ "$icount" -eq 1 ]; then
        # icount needs single-threaded (round-robin) TCG: one vCPU
        smp="${smp:-1}"
        accel=(-accel "tcg,thread=single" -icount "shift=0,align=off,sleep=off")
    else
        smp="${smp:-$VM_DEFAULT_SMP}"
    fi

    local qemu=(qemu-system-x86_64 "${accel[@]}" -cpu max -smp "$smp" -m "$mem"
        -nographic -no-reboot -nic none
        -kernel "$VM_VMLINUZ" -initrd "$initrd"
        -append "console=ttyS0 quiet panic=-1 ${VM_APPEND_EXTRA:-}")
    local bios="${VM_BIOS-/usr/share/qemu/qboot.rom}"
    if [ -n "$bios" ] && [ -f "$bios" ]; then
        qemu+=(-bios "$bios")
    fi
    if [ -n "${VM_QEMU_EXTRA:-}" ]; then
        # shellcheck disable=SC2206
        qemu+=(${VM_QEMU_EXTRA})
    fi

    mkdir -p "$(dirname "$VM_LOG")"
    : >"$VM_LOG"
    local rc=0
    timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 | sed -u 's/\r//g' | tee "$VM_LOG" || rc="${PIPESTATUS[0]}"
    local marker
    marker="$(grep -a -o '@@VM-EXIT [0-9]*@@' "$VM_LOG" | tail -n1 || true)"
    if [ -n "$marker" ]; then
        marker="${marker#@@VM-EXIT }"
        return "${marker%@@}"
    fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        vm_log "timed out after ${timeout}s"
    else
        vm_log "no @@VM-EXIT marker in the console output (qemu exit status $rc)"
    fi
    return 124
}

# Read `cargo ... --message-format=json` on stdin; print compiler messages to
# stderr (as cargo would) and "NAME<TAB>EXECUTABLE" for each artifact:
#   vm_cargo_artifacts bin             every binary target (not test harnesses)
#   vm_cargo_artifacts test PREFIX     every test harness whose target name starts with PREFIX
vm_cargo_artifacts() {
    python3 -c '
import json, sys
kind, prefix = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        m = json.loads(line)
    except ValueError:
        continue
    reason = m.get("reason")
    if reason == "compiler-message":
        rendered = (m.get("message") or {}).get("rendered")
        if rendered:
            sys.stderr.write(rendered)
    elif reason == "compiler-artifact" and m.get("executable"):
        t, test = m["target"], m["profile"]["test"]
        if kind == "bin" and not test and "bin" in t["kind"]:
            print(t["name"] + "\t" + m["executable"])
        elif kind == "test" and test and t["name"].startswith(prefix):
            print(t["name"] + "\t" + m["executable"])
' "$@"
}

# Fill PAYLOAD/bin with the project's ipvsadm (+ ipvsadm-save/-restore links)
# built by `cargo build --release` in PROJECT. Returns 2 if the build failed,
# 1 (after a warning) if there is no binary to install.
vm_payload_add_binary() {
    local project="$1" payload="$2" list exe name
    if ! list="$(cd "$project" && cargo build --release --message-format=json | vm_cargo_artifacts bin)"; then
        vm_log "cargo build --release failed"
        return 2
    fi
    exe="$(awk -F'\t' '$1 == "ipvsadm" { print $2; exit }' <<<"$list")"
    if [ -z "$exe" ] && [ "$(grep -c . <<<"$list")" -eq 1 ]; then
        name="$(cut -f1 <<<"$list")"
        exe="$(cut -f2 <<<"$list")"
        vm_log "no binary target named ipvsadm; installing '$name' as bin/ipvsadm"
    fi
    if [ -z "$exe" ] || [ ! -f "$exe" ]; then
        vm_log "warning: no ipvsadm binary built; payload has no bin/ipvsadm"
        return 1
    fi
    mkdir -p "$payload/bin"
    cp "$exe" "$payload/bin/ipvsadm"
    ln -sf ipvsadm "$payload/bin/ipvsadm-save"
    ln -sf ipvsadm "$payload/bin/ipvsadm-restore"
}

# keepalived 2.2 from Debian, unpacked in $VM_CACHE/keepalived with the
# libraries the host lacks (nothing is installed on the host). Sets KA_BIN,
# KA_LIBDIR (for LD_LIBRARY_PATH: ldd, vm_build_initramfs) and KA_VERSION.
# Used by scripts/bench-serve, scripts/vm-test and scripts/lab.
vm_keepalived_ensure() {
    local dir="$VM_CACHE/keepalived" p want=(keepalived) deb dl out
    if [ ! -f "$dir/root/.unpacked" ]; then
        mkdir -p "$dir/debs"
        for p in libnftnl11 libsnmp40 libpci3 libwrap0 libsensors5 libperl5.36 libmnl0 \
            libnl-3-200 libnl-genl-3-200 libpcre2-8-0 libglib2.0-0 libssl3 libsystemd0; do
            _vm_pkg_installed "$p" || want+=("$p")
        done
        for p in "${want[@]}"; do
            if ! compgen -G "$dir/debs/${p}_*.deb" >/dev/null; then
                vm_log "apt-get download $p"
                dl="$(mktemp -d)"
                chmod 777 "$dl"
                (cd "$dl" && apt-get download -q "$p" >&2) || vm_die "apt-get download $p failed"
                mv "$dl"/*.deb "$dir/debs/"
                rmdir "$dl"
            fi
        done
        rm -rf "$dir/root" "$dir/root.tmp"
        mkdir -p "$dir/root.tmp"
        for deb in "$dir"/debs/*.deb; do
            dpkg-deb -x "$deb" "$dir/root.tmp"
        done
        touch "$dir/root.tmp/.unpacked"
        mv "$dir/root.tmp" "$dir/root"
    fi
    KA_BIN="$dir/root/usr/sbin/keepalived"
    KA_LIBDIR="$dir/root/usr/lib/x86_64-linux-gnu"
    [ -x "$KA_BIN" ] || vm_die "no keepalived in $dir/root"
    out="$(LD_LIBRARY_PATH="$KA_LIBDIR" ldd "$KA_BIN")"
    if grep -q 'not found' <<<"$out"; then
        vm_die "keepalived still misses libraries:"$'\n'"$(grep 'not found' <<<"$out")"
    fi
    KA_VERSION="$(LD_LIBRARY_PATH="$KA_LIBDIR" "$KA_BIN" --version 2>&1 | awk 'NR == 1')"
}
