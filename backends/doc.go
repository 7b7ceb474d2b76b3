// Package backends defines the contract between a pool and the resource it pools.
//
// A Backend knows how to open one connection, check it, clean it between
// holders and close it. The pool never touches a connection except through
// these calls, and each call is made by the connection actor that owns the
// connection, never concurrently for the same connection: the actor runs one
// call at a time, and only while the connection is not leased (Dial, Ping,
// Reset, Close) or after the lease has ended.
//
// Implementations live in sub-packages: membackend (in-memory, for tests),
// redisbackend (go-redis v9) and mysqlbackend (go-sql-driver/mysql).
package backends
