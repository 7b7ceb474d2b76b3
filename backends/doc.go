// Package backends defines the contract between a pool and the resource it pools.
//
// A Backend knows how to open one connection, check it, clean it between
// holders and close it. The pool never touches a connection except through
// these calls. Dial, Ping, Reset and Close are made by the connection actor
// that owns the connection, one at a time, and only while the connection is
// not leased. IsFatal judges an error a holder saw, on the holder's
// goroutine; NeedsReset (ResetTracker) is asked on the goroutine that ends a
// lease, under the pool's lock.
//
// Implementations live in sub-packages: membackend (in-memory, for tests),
// redisbackend (go-redis v9) and mysqlbackend (go-sql-driver/mysql).
package backends
