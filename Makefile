# jetjobs — two commands do all the set-up on a machine with only Go:
#   make run    the engine with the demo jobs on an embedded NATS server
#   make test   every test, with the race detector
GO ?= go
RUN_ARGS ?=
BENCH_ARGS ?=
SOAK_ARGS ?=
CHAOS_ARGS ?=

.PHONY: run test build vet fuzz bench soak chaos faults clean openapi-lint screenshots

run:
	$(GO) run ./cmd/engine run --demo --data-dir ./data $(RUN_ARGS)

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 8m ./...

# Every case of the cluster fault suite (docs/operations.md, "Faults on a
# cluster"); make test runs the ones that differ most.
faults:
	JETJOBS_FAULTS=all $(GO) test -race -count=1 -timeout 10m -run 'TestClusterFaults$$' -v .

build:
	$(GO) build -o bin/engine ./cmd/engine

vet:
	$(GO) vet ./...

# Lint the generated OpenAPI document (demo jobs included) with Redocly's
# recommended rules; needs npx (Node.js). Errors fail, warnings are shown.
openapi-lint:
	mkdir -p bin
	$(GO) run ./cmd/engine openapi --demo > bin/openapi.json
	npx --yes @redocly/cli@2.77.0 lint --extends=recommended bin/openapi.json

# A short fuzzing session of the CloudEvents decoder (not part of make test).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./bus/

# Measure jetjobs on this machine (docs/benchmarks.md), e.g.
#   make bench BENCH_ARGS="--scenarios burndown,sync --json /tmp/bench.json"
bench:
	$(GO) run ./cmd/engine bench $(BENCH_ARGS)

# Continuous load on an engine process (default 10 minutes at 100 STARTs/s),
# reporting throughput, RSS and every stream's size each minute
# (docs/operations.md, "Soak"), e.g.
#   make soak SOAK_ARGS="--duration 3m --rate 200 --config soak.yaml"
soak:
	$(GO) run ./cmd/engine soak $(SOAK_ARGS)

# Engine instances on an embedded 3-node R3 cluster under load while nodes,
# stream leaders and instances are killed at random (default 5 minutes);
# fails if work was lost or doubled (docs/operations.md, "Chaos run"), e.g.
#   make chaos CHAOS_ARGS="--duration 10m --rate 50 --seed 42"
chaos:
	$(GO) run ./cmd/engine chaos $(CHAOS_ARGS)

clean:
	rm -rf ./data ./bin

# The console's screenshots in docs/console/ (docs/console.md), taken by its
# browser tests in headless Chromium.
screenshots:
	JETJOBS_SCREENSHOTS=1 $(GO) test -count=1 -run TestConsole ./console
