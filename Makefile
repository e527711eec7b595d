# otelaudit: `make demo` runs the main job, `make test` passes the tests.
#
# Everything built lands in _build/ (git-ignored). The leading underscore keeps
# the generated collector module out of `./...`.

SHELL      := /bin/bash
GO         ?= go
BUILD      := $(CURDIR)/_build
BIN        := $(BUILD)/bin
BUILDER    := $(BIN)/builder
JAEGER     := $(BIN)/jaeger
GOFILES     = $(shell git ls-files --cached --others --exclude-standard '*.go')
RACE       ?= -race

export GOFLAGS ?=

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

## fmt-check: fail when gofmt would change a file
.PHONY: fmt-check
fmt-check:
	@bad=$$(gofmt -l $(GOFILES)); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi

## vet: go vet over every module
.PHONY: vet
vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

## unit: the race-detected unit tests of the main module and the bench module
.PHONY: unit
unit:
	$(GO) test $(RACE) -count=1 ./...
	cd bench && $(GO) test -count=1 -run . ./...

## test: everything CI checks
.PHONY: test
test: fmt-check vet unit

## bench: Go benchmarks, each side by side with its peer in the same run
.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

## demo: run the instrumentation example and print the spans it produced
.PHONY: demo
demo:
	$(GO) run ./examples/quickstart

.PHONY: clean
clean:
	rm -rf $(BUILD)
