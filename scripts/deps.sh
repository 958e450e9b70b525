#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install what cwatch needs to build and test on Debian 12 (with --bench, also
# what make bench compares with). Idempotent, and quiet when everything is
# already present. Run as root.
set -euo pipefail

pkgs=(clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdw-dev libiberty-dev liblzma-dev libyaml-dev
      libmicrohttpd-dev libssl-dev libcap-dev prometheus libclang-rt-14-dev chromium pkg-config make gcc g++ xz-utils libcap2-bin util-linux procps)

# make bench also compares with bpftrace scripts (scripts/bench/*.bt)
if [ "${1:-}" = "--bench" ]; then
	pkgs+=(bpftrace)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "cwatch: error: missing packages (${missing[*]}); run as root: sudo $0" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds the contract-host fixtures on the real wasmer-go and wasmtime-go;
# it comes with the machine (Debian 12's golang is too old for wasmtime-go).
command -v go >/dev/null ||
	echo "deps: warning: go not found: the wasmer/wasmtime fixtures cannot be built" >&2

# tracefs is where tracepoint ids live; a fresh machine may not have it mounted.
if [ "$(id -u)" -eq 0 ] && [ ! -e /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null &&
		echo "deps: mounted tracefs on /sys/kernel/tracing"
fi
exit 0
