#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build the Go fixtures (tests/fixtures/go, tests/fixtures/gochain) into OUTDIR:
#   OUTDIR/wasmer_host      wasmer-go, linked to OUTDIR/libwasmer.so (RUNPATH $ORIGIN)
#   OUTDIR/wasmtime_host    wasmtime-go, wasmtime's C API linked in statically
#   OUTDIR/concurrent_host  wasmtime-go, four instances on four threads
#   OUTDIR/escape_host      wasmtime-go, contracts escaping through host functions
#   OUTDIR/libwasmer.so     the library packaged in the wasmer-go module
#   OUTDIR/gochain          a Fabric-like chaincode with switchable leaks and
#                           crashes, built with the go on PATH
#   OUTDIR/gochain-stripped the same without symbols or DWARF (-s -w)
#   OUTDIR/gochain-go119, OUTDIR/gochain-go119-stripped  the same with Go 1.19.13
#   OUTDIR/gochain-go127, OUTDIR/gochain-go127-stripped  the same with Go 1.27.4
# Modules, and the Go 1.19 and 1.27 toolchains, come through the Go module proxy (go.sum
# pins the modules). Idempotent: go skips binaries that are up to date. Prints
# nothing on success.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
command -v go >/dev/null || { echo "go-fixtures: error: go not found" >&2; exit 1; }

src=$(cd "$(dirname "$0")/../tests/fixtures/go" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$src"

# Run a command quietly; show its output only if it fails.
quiet() {
	local log
	if ! log=$("$@" 2>&1); then
		printf '%s\n' "$log" >&2
		echo "go-fixtures: error: $* failed" >&2
		exit 1
	fi
}

export CGO_ENABLED=1
quiet go mod download
flags=(-buildvcs=false -trimpath)

# wasmer-go normally links libwasmer.so with a RUNPATH into the module cache.
# Its custom_wasmer_runtime tag lets us link the same packaged library from a
# copy beside the binary instead, found through $ORIGIN: OUTDIR stays usable
# after the module cache is cleaned or when copied elsewhere.
wasmer=$(go list -m -f '{{.Dir}}' github.com/wasmerio/wasmer-go)/wasmer/packaged
lib=$wasmer/lib/linux-amd64/libwasmer.so
[ "$(go env GOARCH)" = amd64 ] || lib=$wasmer/lib/linux-aarch64/libwasmer.so
cmp -s "$lib" "$out/libwasmer.so" || install -m 0755 "$lib" "$out/libwasmer.so"
CGO_CFLAGS="-I$wasmer/include" \
CGO_LDFLAGS="-L$out -lwasmer -Wl,-rpath,\$ORIGIN" \
	quiet go build "${flags[@]}" -tags custom_wasmer_runtime \
		-o "$out/wasmer_host" ./wasmer_host

for p in wasmtime_host concurrent_host escape_host; do
	quiet go build "${flags[@]}" -o "$out/$p" "./$p"
done

# gochain: standard library only. Go 1.19.13's module index, as fetched
# through the proxy, fails to load any package of the main module here
# ("import "": import of unknown directory"); goindex=0 turns the index off.
cd "$src/../gochain"
go119=(env GOTOOLCHAIN=go1.19.13 GODEBUG=goindex=0 go)
quiet go build "${flags[@]}" -o "$out/gochain" .
quiet go build "${flags[@]}" -ldflags='-s -w' -o "$out/gochain-stripped" .
quiet "${go119[@]}" build "${flags[@]}" -o "$out/gochain-go119" .
quiet "${go119[@]}" build "${flags[@]}" -ldflags='-s -w' -o "$out/gochain-go119-stripped" .
# the newest Go cwatch knows (GOLANG_MAX_MINOR in user/golang.h), fetched likewise
go127=(env GOTOOLCHAIN=go1.27.4 go)
quiet "${go127[@]}" build "${flags[@]}" -o "$out/gochain-go127" .
quiet "${go127[@]}" build "${flags[@]}" -ldflags='-s -w' -o "$out/gochain-go127-stripped" .
