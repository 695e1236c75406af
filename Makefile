# Faultline. `make run` runs the whole stack on the embedded stores; `make test` runs every test.
# Both install what they need (Go modules come through the Go module proxy, the web UI's
# packages through npm).

GO      ?= go
BIN     := bin
DATA    ?= ./data
PKGS    := ./...
GOFLAGS ?=
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GOFLAGS

.PHONY: agent bench-agent bench-deps all build run test test-deps test-short vet fmt-check fuzz bench bench-go bench-large lint clean deps sim rca rca-full ui ui-deps ui-test bench-ui

all: build

deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/"; exit 1; }
	$(GO) mod download

# bin/faultline embeds the web UI's build (ui/static/dist), so the UI is built first.
build: deps ui
	$(GO) build -o $(BIN)/faultline ./cmd/faultline
	$(GO) build -o $(BIN)/faultline-agent ./cmd/faultline-agent

# The web UI (ui/: React + TypeScript, built by Vite into ui/static/dist, which the ui package
# embeds; a binary compiled without it serves a placeholder page at /). Each step runs only when
# its inputs changed: npm ci when package-lock.json is newer than what is installed, the build
# when a source file is newer than its output.
UI_DIST  := ui/static/dist/index.html
UI_STAMP := ui/node_modules/.stamp
UI_SRCS  := $(filter-out %.test.ts %.test.tsx,$(shell find ui/src ui/public -type f 2>/dev/null)) \
            ui/index.html ui/package-lock.json ui/vite.config.ts ui/tsconfig.json

ui: $(UI_DIST)

ui-deps: $(UI_STAMP)

# A node_modules that npm installed after the lock file last changed (its own record,
# node_modules/.package-lock.json, is newer) is kept: npm ci would delete and refetch it.
$(UI_STAMP): ui/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null && \
	  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || a === 22 && b >= 12 || a === 20 && b >= 19 ? 0 : 1)' || { \
	  echo "Node.js 20.19+ (or 22.12+) and npm are required to build the web UI (ui/); found: $$(node --version 2>/dev/null || echo none)."; \
	  echo "On Debian 13: sudo apt-get install nodejs npm. Debian 12's nodejs is too old: use NodeSource's"; \
	  echo "Debian packages or https://nodejs.org/en/download"; exit 1; }
	@if [ ui/node_modules/.package-lock.json -nt ui/package-lock.json ]; then \
	  echo "ui/node_modules matches ui/package-lock.json"; \
	else \
	  cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; \
	fi
	@touch $@

# npm run build type-checks (tsc) and bundles (vite build).
$(UI_DIST): $(UI_STAMP) $(UI_SRCS)
	cd ui && npm run build
	@touch $@

# The web UI's unit tests (vitest).
ui-test: ui-deps
	cd ui && npm test

# A host agent against a running faultline (make run in another terminal); faultline's own
# target all already runs one for its host, so this is for other hosts or a second look:
#   make agent LOGS='/var/log/*.log' COLLECTOR=otherhost:4317
COLLECTOR ?= localhost:4317
LOGS      ?=
agent: build
	./$(BIN)/faultline-agent -collector.endpoint=$(COLLECTOR) -state.dir=$(DATA)-agent $(if $(LOGS),-logs.include='$(LOGS)')

run: build
	./$(BIN)/faultline -data.dir=$(DATA)

# The whole suite: formatting, vet, lint, the web UI's unit tests, Go unit tests with the race
# detector, end-to-end tests that start the real binary (built by the tests themselves, with
# the web UI built just before, so it embeds the real one) and drive it from Chromium, and every
# fuzz target's seed corpus.
test: deps test-deps fmt-check vet lint ui ui-test
	$(GO) test -race -count=1 -timeout=20m $(PKGS)

# Outside programs the tests run for real: Alertmanager (Debian's prometheus-alertmanager) and
# Chromium for the browser tests (Debian's chromium, driven by playwright-core); one apt-get
# update for whatever is missing.
test-deps:
	@missing=""; \
	test -x /usr/bin/prometheus-alertmanager || missing="$$missing prometheus-alertmanager"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

test-short: deps
	$(GO) test -count=1 -short $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Fuzz every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
FUZZTIME ?= 30s
fuzz: deps
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for fn in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$fn"; $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Quick benchmarks (under 10 minutes): Go micro-benchmarks, then the ingest load test against
# the real binary, once with telemetrygen (the standard client, which itself needs more CPU
# than faultline) and once with the cheap in-process replay generator (faultline's capacity).
bench: build bench-go
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -duration=30s -workers=2
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -generator=replay -spans=4000000
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -generator=sim -duration=20s
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -signal=logs -duration=20s
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -signal=metrics -duration=10s
	$(MAKE) bench-agent
	$(MAKE) bench-ui

# The web UI's render times in headless Chromium (200-service topology, 10,000-span trace).
bench-ui: build test-deps
	$(GO) run ./loadtest/cmd/uibench -faultline=$(BIN)/faultline

# The agent's cost while tailing 1,000 lines/s and collecting every 10 s, beside Debian's
# node_exporter (installed with apt-get when missing) on the same machine.
bench-agent: build bench-deps
	$(GO) run ./loadtest/cmd/agentbench -agent=$(BIN)/faultline-agent -faultline=$(BIN)/faultline -duration=60s

bench-deps:
	@test -x /usr/bin/prometheus-node-exporter || { 	  echo "installing prometheus-node-exporter (Debian)"; 	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq prometheus-node-exporter >/dev/null; }

bench-go: deps
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=2s $(PKGS)

# The 10-million-span run: storage cost and query latency at scale (about 10 minutes or more).
bench-large: build
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -generator=replay -spans=10000000
	$(GO) run ./loadtest/cmd/ingestbench -faultline=$(BIN)/faultline -spans=10000000 -workers=2

# The fault-injecting simulator against a running faultline (make run in another terminal):
#   make sim TOPOLOGY=shop FAULT=latency TARGET=payment
TOPOLOGY ?= shop
FAULT    ?= none
TARGET   ?=
SIMFLAGS ?=
sim: deps
	$(GO) run ./loadtest/cmd/faultline-loadtest sim -topology=$(TOPOLOGY) -fault=$(FAULT) $(if $(TARGET),-target=$(TARGET)) $(SIMFLAGS)

# Root-cause accuracy over a scenario suite, against a running faultline.
SUITE ?= loadtest/suites/quick.yaml
rca: deps
	$(GO) run ./loadtest/cmd/faultline-loadtest rca -suite=$(SUITE)

# The full suite (47 scenarios, every fault kind on every topology) on three Faultline
# processes the harness starts itself, one topology each: about 50 minutes.
rca-full: build
	mkdir -p loadtest/out
	$(GO) run ./loadtest/cmd/faultline-loadtest rca -suite=loadtest/suites/full.yaml \
	  -faultline.bin=$(BIN)/faultline -parallel=3 -json=loadtest/out/rca-full.json

GOLANGCI_VERSION ?= v2.6.2
lint: deps
	@test -x $(BIN)/golangci-lint && $(BIN)/golangci-lint version 2>/dev/null | grep -q "$(GOLANGCI_VERSION:v%=%)" || \
	  GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	$(BIN)/golangci-lint run $(PKGS)

# Leaves ui/node_modules: npm ci reinstalls it only when ui/package-lock.json changes.
clean:
	rm -rf $(BIN) ui/static/dist
