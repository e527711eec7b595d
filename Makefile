# otelaudit: `make demo` runs the main job, `make test` passes the tests.
#
# Everything built lands in _build/ (git-ignored). The leading underscore keeps
# the generated collector module out of `./...`.
#
#   make demo          build everything, run the example agents through
#                      otelcol-audit into Jaeger and the audit store, show the
#                      audit trail, stop (KEEP=1 leaves it running)
#   make test          gofmt, go vet, race-detected unit tests (real Jaeger
#                      included), end-to-end tests against the real binaries
#   make collector     _build/otelcol-audit/otelcol-audit
#   make cli           _build/bin/otelaudit
#   make agents        the example agents in _build/bin/

SHELL      := /bin/bash
GO         ?= go
# staticcheck, run from the module proxy at a pinned version
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
MODULE     := github.com/otelaudit/otelaudit
BUILD      := $(CURDIR)/_build
BIN        := $(BUILD)/bin
BUILDER    := $(BIN)/builder
JAEGER     := $(BIN)/jaeger
CLI        := $(BIN)/otelaudit
DIST       := $(BUILD)/otelcol-audit
COLLECTOR  := $(DIST)/otelcol-audit
# The example agents: each examples/NAME builds into _build/bin/NAME, and
# scripts/demo.sh runs the ones it lists (mcpagent starts its MCP server,
# examples/mcpserver, in its own process).
AGENTS     := supportagent medicalrecords mcpagent
AGENT_BINS := $(addprefix $(BIN)/,$(AGENTS))
GOFILES     = $(shell git ls-files --cached --others --exclude-standard '*.go')
RACE       ?= -race
KEEP       ?=

# gosrc lists the non-test Go files (and embedded files) of this module that
# the packages $(1) are built from. They are the prerequisites of a binary,
# so make rebuilds it when, and only when, one of them changes. Evaluated
# only for targets being built (secondary expansion).
gosrc = $(shell $(GO) list -e -deps -f '{{if and .Module (eq .Module.Path "$(MODULE)")}}{{range .GoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range .EmbedFiles}}{{$$.Dir}}/{{.}} {{end}}{{end}}' $(1))
# The packages of this module that builder-config.yaml compiles in.
COLLECTOR_PKGS = $(shell sed -n 's|^ *import: $(MODULE)/|./|p' builder-config.yaml)

.SECONDEXPANSION:

.PHONY: all
all: test

## tools: build the collector builder and Jaeger v2 from the pinned tools/ module
.PHONY: tools
tools: $(BUILDER) $(JAEGER)

$(BUILDER): tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	cd tools && $(GO) build -o $(BUILDER) go.opentelemetry.io/collector/cmd/builder

$(JAEGER): tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	cd tools && $(GO) build -o $(JAEGER) github.com/jaegertracing/jaeger/cmd/jaeger

## collector: build the otelcol-audit distribution from builder-config.yaml
.PHONY: collector
collector: $(COLLECTOR)

# The builder generates the distribution's sources and go.mod (which
# replaces this module with the checkout); that is needed only when the
# manifest or this module's requirements change.
$(DIST)/components.go: builder-config.yaml go.mod go.sum $(BUILDER)
	$(BUILDER) --config builder-config.yaml --skip-compilation
	@touch $@

# Compiled as the builder compiles it (same flags, so the build cache is
# shared with a plain builder run); after a small change to a component
# this takes seconds.
$(COLLECTOR): $(DIST)/components.go $$(call gosrc,$$(COLLECTOR_PKGS))
	cd $(DIST) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -gcflags='' -o otelcol-audit .

## cli: build the otelaudit command-line tool
.PHONY: cli
cli: $(CLI)

$(CLI): go.mod go.sum $$(call gosrc,./cmd/otelaudit)
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./cmd/otelaudit

## agents: build the example agents
.PHONY: agents
agents: $(AGENT_BINS)

$(AGENT_BINS): $(BIN)/%: go.mod go.sum $$(call gosrc,./examples/$$*)
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./examples/$*

## build: everything the demo and the end-to-end tests run
.PHONY: build
build: tools collector cli agents

## fmt-check: fail when gofmt would change a file
.PHONY: fmt-check
fmt-check:
	@bad=$$(gofmt -l $(GOFILES)); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi

## vet: go vet and staticcheck over every module (the end-to-end tests
## included), and the product built for Windows and macOS: the tests run on
## Linux only, but the components, the CLI and the agents must compile
## wherever a collector does
.PHONY: vet
vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/
	cd bench && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags e2e ./e2e/
	cd bench && $(GO) run $(STATICCHECK) ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...

## unit: the race-detected unit tests of the main module and the bench module;
## the query tests run against a real Jaeger; the audit log once more on the
## portable SHA-256 path (purego: what CPUs without SHA-NI and AVX run); the
## allocation checks once more without the race detector, which makes
## sync.Pool drop items and so skips them
.PHONY: unit
unit: $(JAEGER)
	OTELAUDIT_JAEGER_BIN=$(JAEGER) $(GO) test $(RACE) -count=1 ./...
	$(GO) test -count=1 -tags purego ./internal/sha256pair/ ./auditlog/
	$(GO) test -count=1 -run 'TestBatchAllocations|TestReusingMapperReusesMemory' ./auditexporter/ ./internal/toolspan/
	cd bench && $(GO) test -count=1 -run . ./...

## e2e: end-to-end tests: the example agents, otelcol-audit, Jaeger and the
## CLI as real processes on 127.0.0.1
.PHONY: e2e
e2e: $(COLLECTOR) $(CLI) $(AGENT_BINS) $(JAEGER)
	OTELAUDIT_COLLECTOR_BIN=$(COLLECTOR) OTELAUDIT_JAEGER_BIN=$(JAEGER) OTELAUDIT_CLI_BIN=$(CLI) \
	OTELAUDIT_AGENT_BIN_DIR=$(BIN) \
		$(GO) test $(RACE) -tags e2e -count=1 -timeout 15m ./e2e/

## test: everything CI checks
.PHONY: test
test: fmt-check vet unit e2e

## bench: Go benchmarks, each side by side with its peer in the same run
.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

## demo: Jaeger and otelcol-audit on 127.0.0.1, the example agents, then the
## audit trail: timelines, access report, anomalies, verify (KEEP=1 leaves
## Jaeger and the collector running; `make demo-stop` stops them)
.PHONY: demo
demo: build
	BIN=$(BIN) COLLECTOR=$(COLLECTOR) JAEGER=$(JAEGER) CLI=$(CLI) KEEP=$(KEEP) \
	DEMO_DIR=$(BUILD)/demo scripts/demo.sh

## demo-stop: stop what `make demo KEEP=1` left running
.PHONY: demo-stop
demo-stop:
	DEMO_DIR=$(BUILD)/demo scripts/demo.sh stop

## quickstart: the instrumentation example alone, its spans printed
.PHONY: quickstart
quickstart:
	$(GO) run ./examples/quickstart

## help: this list
.PHONY: help
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

.PHONY: clean
clean:
	@if [ -d $(BUILD)/demo ]; then DEMO_DIR=$(BUILD)/demo scripts/demo.sh stop; fi
	rm -rf $(BUILD)
