// Command poolbench measures actorpool against the pool its users would
// otherwise use, on real servers, in one run: the workloads described
// below. (W3, the pool's own overhead on a do-nothing backend,
// is BenchmarkAcquireRelease in the module root.)
//
//	go run ./cmd/poolbench                       # everything, about 4 minutes
//	go run ./cmd/poolbench -duration 3s -rounds 5 -out bench.md
//	go run ./cmd/poolbench -workloads w1 -callers 64 -cpuprofile cpu.pprof -memprofile mem.pprof
//
// It starts its own redis-server and MariaDB (mariadbd) on free loopback
// ports, in temporary directories, with the test harnesses of
// internal/testserver, and kills them when it ends, on error and on the
// first Ctrl-C or SIGTERM too (a second Ctrl-C exits at once; the kernel
// then kills the servers, which run with a parent-death signal). The
// binaries come from PATH (mariadbd also from /usr/sbin): make deps
// installs them.
//
// # What runs
//
// Every case runs actorpool and its peer alternately, A B A B ..., for
// -rounds rounds (at least 3) of -duration each, after a warm-up of a fifth
// of -duration that is not counted. Both pools have -conns connections,
// all dialled before the first round. actorpool runs with
// Config{MinConns: conns, MaxConns: conns} and defaults otherwise, its
// Logger (except in W4, see below) and the actor system's logger discard.
//
//   - W1 Redis: GET and SET of 16-byte values over 1024 keys, one lease per
//     command, -callers goroutines back to back. actorpool:
//     p.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, k).Err() }),
//     the form a user writes for one command. Peer: the same command on
//     redis.NewClient with PoolSize conns (go-redis's own pool).
//   - W2 MySQL: SELECT 1 and a primary-key point select on a 1000-row
//     InnoDB table, callers up to 64. actorpool: p.With and
//     QueryRowContext(...).Scan on the leased *mysqlbackend.Conn. Peer:
//     database/sql with MaxOpenConns and MaxIdleConns conns. Both use the
//     same DSN, with interpolateParams=true (one round trip per query).
//   - W4 recovery: 32 callers loop on one call (a GET, a SELECT 1) with a
//     2 s ctx and a 1 ms pause after a failure. After 300 ms the server is
//     killed with SIGKILL; it is restarted once the first failure is seen
//     (for actorpool: the first ErrBackendUnavailable) and at least 1 s has
//     passed; the load goes on until the first success after the restart,
//     plus 300 ms. Each round uses a fresh pool. Redis first, then MariaDB.
//   - W5 overload (MySQL): requests arrive at a fixed rate, twice what the
//     pool can serve: each holds its connection 50 ms (SELECT SLEEP(0.05)),
//     so conns connections serve conns/50ms and requests come at twice
//     that. A request waits at most 100 ms: actorpool with
//     AcquireTimeout 100ms (Acquire, then Release), database/sql with a
//     100 ms ctx on db.Conn (its queue is unbounded; a ctx is its only
//     bound), then Conn.Close. It is an open loop: a slow pool does not slow
//     the arrivals.
//   - W6 command mode (Redis): GET and SET of 16 bytes by actorpool's
//     command mode (actorpool-cmd), go-redis's AutoPipeline, rueidis, and
//     one lease or one go-redis pool checkout per command. When redis-benchmark is on PATH, a
//     limit row shows what the machine does with C and 16 commands per
//     write: redis-benchmark -t get -P 16 -c callers -d 16.
//   - W7, W8, W9: several endpoints, a budget across cluster members, and
//     actors talking to Redis and MySQL by message; see docs/performance.md.
//   - W10: a Redis Cluster of three primaries that poolbench starts (with
//     redis-cli --cluster create), GET and SET over keys on every slot:
//     actorpool-cluster-cmd (package rediscluster) against go-redis's
//     ClusterClient with and without AutoPipeline, and rueidis.
//
// In W1, W2, W6, W7 and W10 each round of each client runs in a child
// poolbench of its own (-inprocess runs them all in this process instead),
// so that no client's goroutines, timers or garbage slow another; W4, W5,
// W8 and W9 run in this process.
//
// Liveness checks are counted the same on both sides: by default none.
// go-redis peeks at a pooled socket (recvfrom MSG_PEEK) on each checkout,
// and go-sql-driver reads from it after each database/sql session reset;
// actorpool's backends do neither on a lease of a connection in steady
// use. So the peers run with the check off (a dialer that
// hides syscall.Conn; checkConnLiveness=false). -peer-conncheck turns it
// back on for the peers, to see what it costs them.
//
// # Reading the table
//
// One Markdown table, one row per case and pool. Numbers are the median
// over the rounds; errors is the total over all rounds. Latencies come from
// HdrHistogram (1 ns to 30 s, three significant digits), one per caller
// goroutine, merged at the end of the round; they are never averages.
//
//   - W1, W2: ops/s of whole ops; p50 and p99 of one whole op as the caller
//     sees it (lease, command, release for actorpool; the client call for
//     the peer). ratio to peer is actorpool's ops/s divided by the peer's
//     in the same round, median (min–max) over the rounds: below 1,
//     actorpool is slower. With many more callers than cores (64, 256 on
//     a small machine) this mostly measures scheduling; the spread says how
//     much to trust a ratio. For actorpool the notes split each op where
//     its lease was in hand (the first thing its function does inside
//     With): wait is the Acquire, held the command and the Release (two
//     significant digits, median over the rounds of each round's p50 and
//     p99). With more callers than connections, wait is the queue; held
//     is what one connection's turn costs, scheduling included.
//   - W4: p50 and p99 are of the calls that failed while the server was
//     down (how fast callers learn it is down); errors counts them. The
//     notes give, in ms, median (min–max): first error after the kill,
//     first ErrBackendUnavailable (actorpool), first success after the
//     restarted server answered the harness's probe; leases lost (leases
//     granted minus leases whose Release or MarkBroken returned nil,
//     summed over the rounds: must be 0) and connections still in use once
//     the load stopped (Stats().Leased(), go-redis PoolStats,
//     DB.Stats().InUse: must be 0). actorpool redials with its default
//     backoff (100 ms doubling to 5 s, jittered; while callers are failed
//     fast, its probe redials 100 ms after each failure), the peers dial on demand
//     and go-redis retries each command up to 3 times: that is what the
//     times compare. For actorpool the notes also give, per round, the
//     backoff step in effect when the server came back / when its redial
//     was due / the first success, in ms from the restart, and whether the
//     first success came within one step plus the dial (the target). They
//     come from the pool's Logger: a handler keeps the time and retry_in of
//     each Debug "actorpool: dial failed" record and the time of
//     "actorpool: backend reachable again". The step is the retry_in of the
//     last failed dial before the restart, or BackoffMin when shorter (the
//     callers' demand brings the probe forward); the dial runs from the
//     redial that succeeded to "reachable again". The target is missed only
//     when the redial after the restart fails or the lease is slow to follow
//     it.
//   - W5: ops/s are grants per second inside the window (capacity is
//     conns/50ms); p50 and p99 are the waits of the acquires that
//     succeeded; errors are the acquires that timed out, and the notes give
//     their share. A FIFO queue under sustained overload makes every
//     successful request wait nearly the whole timeout; a queue that serves
//     waiters in another order trades that for a spread.
//
// # Profiles
//
// -cpuprofile and -memprofile profile the actorpool rounds only. The CPU
// profiler cannot pause, so every actorpool round writes its own file
// (file, file.2, file.3, ...; the command prints which is which); give
// them all to go tool pprof, which merges them. The allocation profile is
// one file, sampled (every 4 KiB) only while actorpool rounds run. Narrow
// the run first, e.g. -workloads w1 -callers 64. Caller goroutines carry
// pprof labels (workload, op, pool, callers); actor goroutines do not.
package main
