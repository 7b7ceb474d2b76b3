.PHONY: test deps vet bench poolbench soak budgetchurn fuzz

# Installs redis-server and MariaDB when missing, then runs every test with
# the race detector, in the library's module and in the two modules beside
# it (go.work joins them): cmd/ (poolbench, soak, budgetchurn, W3 with its
# peers) and examples/, which carry the tool-only dependencies (gonum/plot,
# toxiproxy, rueidis, puddle, miniredis, ...) so that a service importing
# the library inherits none of them. The tests start their own servers on
# free loopback ports.
test: deps vet
	go test -race -count=1 -timeout 9m ./... ./cmd/... ./examples/...
	# The live cluster members (the budget's tests, the cluster example,
	# the churn run's 15-second test, the promise matrix's budget row,
	# poolbench's W8), without -race: the race detector reports races
	# inside protoactor-go's and grpc's remote and gossip code once a
	# member runs (none in this module). -race above runs the budget's
	# allocation tests, the churn schedule's and the matrix's other rows,
	# and leaves these out (build tag !race).
	go test -count=1 -timeout 3m ./budget/ ./examples/cluster/ ./cmd/budgetchurn/ ./internal/promises/
	go test -count=1 -timeout 3m -run W8 ./cmd/poolbench/

deps:
	./scripts/test-deps.sh

vet:
	test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	go vet ./... ./cmd/... ./examples/...

bench:
	go test -run '^$$' -bench . -benchmem -cpu 1,2 . ./cmd/w3/

# Workloads W1-W5 against go-redis and database/sql on real servers it starts.
poolbench: deps
	go run ./cmd/poolbench

# The chaos soak: mixed load on real servers through toxiproxy while every
# fault is applied in turn (default 2m; longer: make soak SOAK=10m).
SOAK ?= 2m
soak: deps
	go run ./cmd/soak -duration $(SOAK)

# The budget's churn run: members sharing a budget of 12 on redis-server
# join, leave, crash and change their load every 1-4 s while the server's
# connections are counted every 2 ms (default 5m; on MariaDB:
# go run ./cmd/budgetchurn -backend mariadb).
BUDGETCHURN ?= 5m
budgetchurn: deps
	go run ./cmd/budgetchurn -duration $(BUDGETCHURN)

# Explores the ledger's rules, then a real pool under stress, beyond the
# committed seeds (FUZZTIME=1m each by default).
FUZZTIME ?= 1m
fuzz:
	go test ./internal/ledger -run '^$$' -fuzz FuzzLedgerRules -fuzztime $(FUZZTIME)
	go test . -run '^$$' -fuzz FuzzPoolUnderStress -fuzztime $(FUZZTIME)
