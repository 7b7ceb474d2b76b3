.PHONY: test deps vet bench

# Installs redis-server and MariaDB when missing, then runs every test with
# the race detector. The tests start their own servers on free loopback ports.
test: deps vet
	go test -race -count=1 -timeout 9m ./...

deps:
	./scripts/test-deps.sh

vet:
	test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchmem -cpu 1,2 .
