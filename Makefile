# kaudit: `make` builds the plugin, `make run` shows it working against a real
# Loki, `make test` runs every test (CI runs exactly that).

GO      ?= go
CC      ?= cc
BUILD   ?= build
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export KAUDIT_CACHE ?= $(HOME)/.cache/kaudit

# The plugin's one build command; the images (conf/) and the tests use it.
SO_FLAGS   = -buildmode=c-shared -trimpath -ldflags "-s -w -X main.Version=$(VERSION)"
HOST_FLAGS = -std=c99 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE

.PHONY: all build test unit run bench fuzz loki clean FORCE

all: build

build: $(BUILD)/out_kaudit.so $(BUILD)/flbhost $(BUILD)/mkchunk $(BUILD)/kaudit

# Go's build cache decides what is stale; FORCE only hands it the question.
$(BUILD)/out_kaudit.so: FORCE
	CGO_ENABLED=1 $(GO) build $(SO_FLAGS) -o $@ ./plugin/output

$(BUILD)/flbhost: scripts/flbhost/flbhost.c
	@mkdir -p $(BUILD)
	$(CC) $(HOST_FLAGS) -o $@ $< -ldl -lpthread

# The command-line tool: replay, push and check through the plugin's code.
$(BUILD)/kaudit: FORCE
	$(GO) build -trimpath -ldflags "-s -w -X main.Version=$(VERSION)" -o $@ ./plugin/cmd/kaudit

$(BUILD)/mkchunk: FORCE
	$(GO) build -trimpath -o $@ ./scripts/mkchunk

# Real Loki, built once per machine into $(KAUDIT_CACHE).
loki:
	scripts/loki.sh build

# The main job on an embedded default: a real Loki, a realistic generated
# audit log through the real .so in the Fluent Bit host, and a summary read
# back from Loki.
run: build loki
	$(GO) run ./scripts/demo -so $(BUILD)/out_kaudit.so -host $(BUILD)/flbhost

# Every test, the real-Loki end-to-end and fault tests included.
test: build loki
	$(GO) vet ./...
	KAUDIT_SO=$(abspath $(BUILD)/out_kaudit.so) KAUDIT_FLBHOST=$(abspath $(BUILD)/flbhost) KAUDIT_CMD=$(abspath $(BUILD)/kaudit) KAUDIT_REQUIRE_E2E=1 \
		$(GO) test -count=1 -timeout 30m ./...

# Unit tests only (no Loki, no C host).
unit:
	$(GO) test ./...

# Benchmarks of the hot path; compare runs with benchstat.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./plugin/... ./redact/... ./detect/... | tee $(BUILD)/bench.txt

FUZZTIME ?= 10m
fuzz:
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzDecoder -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzEvents -fuzztime $(FUZZTIME)
	$(GO) test ./redact -run '^$$' -fuzz FuzzRedact -fuzztime $(FUZZTIME)
	$(GO) test ./detect -run '^$$' -fuzz FuzzDetect -fuzztime $(FUZZTIME)

clean:
	rm -rf $(BUILD)
