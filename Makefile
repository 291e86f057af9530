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

.PHONY: all build test unit race lint run perf bench icount fuzz loki image clean FORCE

all: build

build: $(BUILD)/out_kaudit.so $(BUILD)/flb-filter_kaudit.so $(BUILD)/flbhost $(BUILD)/mkchunk $(BUILD)/kaudit

# Go's build cache decides what is stale; FORCE only hands it the question.
$(BUILD)/out_kaudit.so: FORCE
	CGO_ENABLED=1 $(GO) build $(SO_FLAGS) -o $@ ./plugin/output

# The filter is loaded by Fluent Bit's C plugin loader, which copies a struct
# whose layout is Fluent Bit's internal ABI: build for the Fluent Bit that
# will load it (scripts/flbhost/ABI.md). 3.2, 4 and 5 share one layout.
FLB_VERSION ?= 5
FLB_LAYOUT_TAGS_3.0 = flb_v3_0
FLB_LAYOUT_TAGS_3.1 = flb_v3_0
FLB_LAYOUT_TAGS_3.2 = flb_v3_2
FLB_LAYOUT_TAGS_4   = flb_v3_2
FLB_LAYOUT_TAGS_5   = flb_v3_2
FLB_TAGS = $(FLB_LAYOUT_TAGS_$(FLB_VERSION))

$(BUILD)/flb-filter_kaudit.so: FORCE
	@test -n "$(FLB_TAGS)" || { echo "FLB_VERSION=$(FLB_VERSION) is not supported: use 3.0, 3.1, 3.2, 4 or 5 (3.0/3.1 and 3.2+ differ)" >&2; exit 1; }
	CGO_ENABLED=1 $(GO) build $(SO_FLAGS) -tags $(FLB_TAGS) -o $@ ./plugin/filter

$(BUILD)/flbhost: scripts/flbhost/flbhost.c
	@mkdir -p $(BUILD)
	$(CC) $(HOST_FLAGS) -rdynamic -o $@ $< -ldl -lpthread

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

# End-to-end throughput: generated events through the real .so files in
# the Fluent Bit host into a real Loki, events/s and the host's CPU per
# event, parsed records and raw lines (PERF_FLAGS=-n 20000 -runs 1 for a
# quick look; -cpuprofile DIR for a profile of each configuration).
PERF_FLAGS ?=
perf: build loki
	$(GO) run ./scripts/perf -so $(BUILD)/out_kaudit.so -filter $(BUILD)/flb-filter_kaudit.so -host $(BUILD)/flbhost $(PERF_FLAGS)

# Every test, the real-Loki end-to-end and fault tests included, then the
# race detector on the core packages and the linter.
test: build loki lint
	$(GO) vet ./... ./testdata
	KAUDIT_SO=$(abspath $(BUILD)/out_kaudit.so) KAUDIT_FILTER_SO=$(abspath $(BUILD)/flb-filter_kaudit.so) KAUDIT_FLBHOST=$(abspath $(BUILD)/flbhost) KAUDIT_CMD=$(abspath $(BUILD)/kaudit) KAUDIT_REQUIRE_E2E=1 \
		$(GO) test -count=1 -timeout 30m ./...

	$(MAKE) race

# Unit tests only (no Loki, no C host).
unit:
	$(GO) test ./...

# The race detector on the packages that run concurrently in a flush (the
# output's workers share one instance).
RACE_PKGS = ./detect/... ./redact/... ./plugin/decode/... ./plugin/pipeline/... ./plugin/loki/... ./plugin/metrics/... ./plugin/output/instance/... ./plugin/filter/instance/...
race:
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

# staticcheck, installed once per machine from the Go module proxy into
# $(KAUDIT_CACHE), with zero findings.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK = $(KAUDIT_CACHE)/tools/staticcheck-$(STATICCHECK_VERSION)/staticcheck
$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	$(STATICCHECK) ./... ./testdata

# Benchmarks of the hot path; compare runs with benchstat.
bench:
	@mkdir -p $(BUILD)
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./plugin/... ./redact/... ./detect/... | tee $(BUILD)/bench.txt

# Instructions per event of BenchmarkHotPath under valgrind, this tree
# against BASE (a commit): steady where CPU time is not.
BASE ?=
icount:
	scripts/icount.sh $(BASE)

FUZZTIME ?= 10m
fuzz:
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzDecoder -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzEvents -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzScanObject -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzJSONTokens -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/decode -run '^$$' -fuzz FuzzMsgpackTokens -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/pipeline -run '^$$' -fuzz FuzzFastLine -fuzztime $(FUZZTIME)
	$(GO) test ./plugin/loki -run '^$$' -fuzz FuzzMarshal -fuzztime $(FUZZTIME)
	$(GO) test ./redact -run '^$$' -fuzz FuzzRedact -fuzztime $(FUZZTIME)
	$(GO) test ./redact -run '^$$' -fuzz FuzzScanner -fuzztime $(FUZZTIME)
	$(GO) test ./detect -run '^$$' -fuzz FuzzDetect -fuzztime $(FUZZTIME)

# The images of conf/image/Dockerfile: the Fluent Bit image with kaudit, and
# the plugin-only image for an init container. Needs a running Docker engine
# (BuildKit) that reaches Docker Hub and the Go module proxy.
DOCKER             ?= docker
IMAGE_REPO         ?= kaudit
IMAGE_TAG          ?= $(VERSION)
FLUENT_BIT_VERSION ?= 5.1.1
IMAGE_ARGS          = -f conf/image/Dockerfile --build-arg VERSION=$(VERSION) --build-arg FLUENT_BIT_VERSION=$(FLUENT_BIT_VERSION)

image:
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make image: no Docker engine responds ('$(DOCKER) info' failed): start one, or point DOCKER_HOST at one" >&2; exit 1; }
	$(DOCKER) build $(IMAGE_ARGS) --target fluent-bit -t $(IMAGE_REPO)/fluent-bit-kaudit:$(IMAGE_TAG) .
	$(DOCKER) build $(IMAGE_ARGS) --target plugin -t $(IMAGE_REPO)/kaudit-plugin:$(IMAGE_TAG) .

clean:
	rm -rf $(BUILD)
