# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# cwatch: one Makefile. Generated files go to $(OUT); V=1 shows commands.

OUT ?= build
PREFIX ?= /usr/local
DESTDIR ?=
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# Set VMLINUX_H to a pre-generated header to build without the running kernel's BTF.
VMLINUX_H ?= $(OUT)/vmlinux.h

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
CFLAGS ?= -O2 -g
CW_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -MMD -MP -I$(OUT) -Ibpf -Iuser \
	-DCWATCH_VERSION='"$(VERSION)"' $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf) -ldw -lelf -lz -liberty -llzma -lyaml -lcrypto \
	-lmicrohttpd -lcrypt -lcap -lpthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS)) $(OUT)/user/profiles.o
PROFILES := $(sort $(wildcard profiles/*.yaml))
# Modules with no BPF, clock or I/O dependencies: linked into the unit tests
# (gosym reads files with libelf, but its table parser is tested from memory).
PURE := model util json profile detect rules yamlx record gosym x86code
PURE_SAN_OBJS := $(patsubst %,$(OUT)/san/%.o,$(PURE)) $(OUT)/san/profiles.o
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUT)/san/tests/%.o,$(UNIT_SRCS))
FIXTURES := $(patsubst tests/fixtures/%.c,$(OUT)/fixtures/%,$(wildcard tests/fixtures/*.c))

.PHONY: FORCE all deps fixtures-go test unit integ demo bench fuzz lint clean install soak
.DELETE_ON_ERROR:

all: $(OUT)/cwatch $(FIXTURES) $(OUT)/gosym_dump $(OUT)/sym_dump

deps:
	$(Q)bash scripts/deps.sh $(DEPS_FLAGS)

$(OUT) $(OUT)/bpf $(OUT)/user $(OUT)/san $(OUT)/san/tests $(OUT)/fixtures:
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)if [ ! -r $(VMLINUX_BTF) ]; then \
		echo "cwatch: error: no kernel BTF at $(VMLINUX_BTF); set VMLINUX_BTF=FILE or VMLINUX_H=FILE" >&2; \
		exit 1; fi
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/common.bpf.h bpf/cwatch.h $(VMLINUX_H) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(dir $(VMLINUX_H)) -Ibpf -c $< -o $@

$(OUT)/cwatch.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUT)/cwatch.skel.h: $(OUT)/cwatch.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cwatch_bpf > $@

$(OUT)/user/%.o: user/%.c $(OUT)/cwatch.skel.h | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CW_CFLAGS) -c $< -o $@

# CWATCH_VERSION changes with every commit, not with the sources: the objects
# that print it depend on a file rewritten only when the version changes.
$(OUT)/version: FORCE | $(OUT)
	$(Q)echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(OUT)/user/main.o $(OUT)/user/exporter.o: $(OUT)/version

FORCE:

$(OUT)/profiles.c: $(PROFILES) scripts/embed-profiles.sh | $(OUT)
	$(call msg,GEN,$@)
	$(Q)sh scripts/embed-profiles.sh $(PROFILES) > $@

$(OUT)/user/profiles.o: $(OUT)/profiles.c | $(OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/san/profiles.o: $(OUT)/profiles.c | $(OUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) -O1 -g $(SAN) -c $< -o $@

$(OUT)/cwatch: $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(OUT)/san/%.o: user/%.c | $(OUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) -O1 -g $(SAN) $(CW_CFLAGS) -c $< -o $@

$(OUT)/san/tests/%.o: tests/unit/%.c | $(OUT)/san/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) -O1 -g $(SAN) $(CW_CFLAGS) -Itests -c $< -o $@

$(OUT)/unit: $(UNIT_OBJS) $(PURE_SAN_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(SAN) $^ -lyaml -lcrypto -lelf -lz -o $@

$(OUT)/fixtures/%: tests/fixtures/%.c tests/fixtures/demo_hooks.h | $(OUT)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Werror -pthread $< -o $@

# Built as Debian builds its libraries (optimized, no frame pointers, .eh_frame
# kept): the stacks --unwind=dwarf must walk (tests/integ/test_unwind.py).
$(OUT)/fixtures/deepchain: tests/fixtures/deepchain.c | $(OUT)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fomit-frame-pointer -std=gnu11 -Wall -Wextra -Werror $< -o $@

# Contract hosts on the real wasmer-go and wasmtime-go (modules pinned in
# tests/fixtures/go/go.sum, fetched through the Go module proxy).
fixtures-go: | $(OUT)/fixtures
	$(call msg,GO,$(OUT)/fixtures)
	$(Q)bash scripts/go-fixtures.sh $(OUT)/fixtures

# Every test, unit and integration; the last line is "N passed, N failed, N skipped".
test: deps all fixtures-go $(OUT)/unit $(OUT)/fuzz_record $(OUT)/fuzz_gosym
	$(Q)python3 tests/run.py --build $(OUT)

# libFuzzer on the recording reader (clang's runtime: Debian's libclang-rt-14-dev).
$(OUT)/fuzz_record: tests/fuzz/fuzz_record.c user/record.c user/record.h | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Wall -Wextra -Werror \
		-Ibpf -Iuser tests/fuzz/fuzz_record.c user/record.c -lz -o $@

# Driver for tests/integ/test_gosym.py: Go symbols compared with Go's own tools.
$(OUT)/gosym_dump: tests/tools/gosym_dump.c $(OUT)/user/gosym.o $(OUT)/user/elfsym.o \
		$(OUT)/user/symbolize.o | $(OUT)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(CW_CFLAGS) $^ -lelf -lz -liberty -llzma -o $@

# Driver for tests/integ/test_symbols.py: frames compared with binutils' names.
$(OUT)/sym_dump: tests/tools/sym_dump.c $(OUT)/user/gosym.o $(OUT)/user/elfsym.o \
		$(OUT)/user/symbolize.o | $(OUT)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(CW_CFLAGS) $^ -lelf -lz -liberty -llzma -o $@

# libFuzzer on the Go pclntab reader.
$(OUT)/fuzz_gosym: tests/fuzz/fuzz_gosym.c user/gosym.c user/gosym.h | $(OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Wall -Wextra -Werror \
		-Iuser tests/fuzz/fuzz_gosym.c user/gosym.c -lelf -lz -o $@

# A longer fuzzing run than the test suite's; new finds go to the corpus.
fuzz: $(OUT)/fuzz_record
	$(Q)mkdir -p $(OUT)/fuzz-corpus && cp -n tests/fuzz/corpus/record/* $(OUT)/fuzz-corpus/
	$(Q)$(OUT)/fuzz_record -max_total_time=$${FUZZ_SECONDS:-300} -max_len=65536 \
		$(OUT)/fuzz-corpus tests/fuzz/corpus/record

unit: $(OUT)/unit
	$(Q)python3 tests/run.py --build $(OUT) --unit-only

# The soak test for 10 minutes (SOAK_SECONDS=N for another length); not part of test.
soak: deps all
	$(Q)bash scripts/soak.sh $(OUT)

demo: deps all
	$(Q)bash scripts/demo.sh $(OUT)

# make bench also installs what it measures cwatch against (bpftrace)
bench: DEPS_FLAGS = --bench
bench: deps all
	$(Q)bash scripts/bench.sh $(OUT)

lint: all
	$(Q)bash -n scripts/*.sh
	$(Q)python3 -m py_compile tests/run.py tests/integ/*.py

install: $(OUT)/cwatch
	install -D -m 0755 $(OUT)/cwatch $(DESTDIR)$(PREFIX)/sbin/cwatch
	install -D -m 0644 man/cwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/cwatch.8
	sed 's|/usr/local/sbin/cwatch|$(PREFIX)/sbin/cwatch|' scripts/systemd/cwatch.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(PREFIX)/lib/systemd/system/cwatch.service

clean:
	rm -rf $(OUT)

-include $(wildcard $(OUT)/user/*.d $(OUT)/san/*.d $(OUT)/san/tests/*.d)
