// Package actorpool is a connection pool built as a small actor system on
// protoactor-go.
//
// Callers lease connections through Pool.Acquire (goroutines) or by
// sending messages to the pool's broker (actors; see package messages).
// The guarantees: a connection is held by at most one lease at a time;
// every lease ends exactly once (released, marked broken, revoked or
// reclaimed); a connection whose lease was revoked or marked broken is
// closed and replaced, never lent again; waiters are served first come,
// first served; after Close every connection is closed and every call
// returns ErrPoolClosed.
//
// In command mode (Pool.Do; for Redis, redisbackend.NewCommands) callers
// hand the pool work instead of leasing: each connection in command mode
// writes what queued for it as one batch. For a backend that is a
// backends.Duplexer (Redis) its connection actor's pump writes the next
// batch while the replies to the last are read; for the others the
// connection actor writes what queued while its last round trip was in
// flight.
//
// With Config.MeterProvider the pool reports OpenTelemetry's
// db.client.connection.* metrics and its own actorpool.* ones, read from
// the Stats snapshot at each collection; with Config.TracerProvider each
// Acquire records a span. Without them it records nothing.
//
// # Who owns what
//
// Each question has one owner; every other part asks it.
//
//	question                                    owner                         how the others reach it
//	------------------------------------------  ----------------------------  ------------------------------------------
//	who holds what: idle connections, the line  the ledger (internal/ledger), callers (Acquire), holders (Release,
//	of waiters, grants, returns, cancellation,  one structure under one lock; MarkBroken) and connection actors call
//	MaxWaiters, closed, fail fast, Stats counts the broker creates it and    its methods; no message while a
//	                                            alone sets its policy         connection is idle
//	whether the pool is closed                  the ledger's flag; Pool.Close the broker, the dispatcher, SetLimits and
//	                                            sets it first                 SetLifecycle read it (Ledger.IsClosed)
//	how many connection actors exist (Total),   the ledger's counts, written  callers read the rule's verdict (nudge the
//	those let go and still closing, the growth  by the broker alone (Grow,    broker); the broker spawns what Grow
//	rule and its room under MaxConns            Reserve, Unreserve, retire,   reserved; the dialer keeps each actor's
//	                                            Closed); the rule is want     state, not a count
//	when to dial, backoff, the circuit (fail    the broker's dialer           the supervisor carries out Spawn, Restart,
//	fast, probe, refill)                        (actors/dialer.go,            StopChild; callers read the circuit's
//	                                            actors/circuit.go)            verdict from the ledger
//	the lifecycle settings in force (timeouts,  proto.Settings, written by    callers, the dialer and the connection
//	lifetimes, MaxWaiters, QueueTarget,         the broker alone as it        actors read it (one atomic load); the
//	DialTimeout, backoff)                       applies SetLifecycle          ledger gets its part as its Policy
//	what happens over time: keepalive,          the broker actor              messages; its timers post into its mailbox
//	validation, idle and lifetime retirement,
//	lease timeouts, leak warnings, actors'
//	acquires and owner death, Close
//	one connection: dial, reset, ping, close    its connection actor          messages; after a reset or a ping it puts
//	                                                                          the connection back into the ledger itself
//	the connection actors' lives: spawn,        the supervisor actor          the dialer's messages; it reports crashes
//	restart, stop                                                             and stops to the broker
//	a goroutine waiter's deadline               the waiter (its own timer,    the timer takes it out of the line
//	                                            reused with its request)
//	command mode: how many connections serve    the command dispatcher        callers push to the queue with the fewest
//	it, which, when one goes back               (actors/commands.go), which   commands outstanding; connection actors
//	                                            alone publishes the queues    ask it to grow when a batch comes out full
//	                                            (one at most on a Duplexer)
//	command mode: writing one connection's      its connection actor (and,    callers push to its queue; the first push
//	queued commands as one batch                when the connection is idle,  to an idle queue sends the actor one
//	                                            the caller of a command that  message; a broken batch ends its lease
//	                                            meets it: written at once)    broken
//	command mode on a Duplexer (Redis):         the connection actor's pump:  callers push to its queue and wake the
//	writing batches, reading their replies      a writer and a reader         writer; the pump tells the actor when
//	                                            goroutine, started and        command mode ends on the connection or
//	                                            stopped by the actor          the connection breaks
//	a pool's limits when it shares a cluster    its budget member (package    the member calls SetLimits; the others
//	budget (package budget)                     budget), from the view every  read its share from the gossip
//	                                            member computes alike
//	which budget a pool is in (one at most)     budget's registry             Join and Leave claim and drop
package actorpool
