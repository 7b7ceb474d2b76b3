// Command soak runs the pool under faults for a while and checks its
// promises as it goes.
//
//	go run ./cmd/soak [-duration 2m] [-hold 3s]
//
// It starts redis-server and MariaDB (the test harnesses of
// internal/testserver, on free loopback ports), puts toxiproxy (run in
// this process) between the pools and each server, and runs mixed load:
// lease-mode GET/SET and MULTI/EXEC and command mode on Redis, point
// selects and transactions on MariaDB, actors that acquire by message
// (some stop while holding), callers that cancel, holders that panic
// inside With, a holder kept past LeaseTimeout, and SetLimits moving up
// and down. Meanwhile a schedule applies each toxic (latency with jitter,
// reset_peer, timeout, slow_close, bandwidth, slicer, limit_data), then
// kills and restarts, then SIGSTOPs and SIGCONTs, each server in turn,
// each for -hold.
//
// It checks: no connection is granted while a lease holds it; every lease
// ends exactly once; Stats add up; each server's count of the pools'
// connections stays within their MaxConns plus the connections they let
// go of in the last 5 s; no Acquire, a goroutine's or an actor's, returns
// later than its timeout plus the time the process stalled meanwhile (how
// late a goroutine that wakes every millisecond came, summed) plus 20 ms;
// after Close no server sees a connection, no goroutine of the pools is
// left and no lease is lost. It prints a table and, as its last
// line, "soak: N ops, L lost, D double, V violations", and exits 1 on any.
package main
