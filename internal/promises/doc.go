// Package promises holds the promise matrix: a test, on real redis-server
// processes started on loopback, of each promise the pool makes against
// each way of using it. It has no code of its own; everything is in its
// tests.
//
// The modes (rows): goroutine leases (Acquire and With), actor leases (an
// actor per caller sends messages.Acquire and gets messages.Granted or
// messages.AcquireFailed), command mode (redisbackend.NewCommands), a
// group of two endpoints on two servers, and the members of a budget:
// two cluster members whose pools share one budget on one server.
//
// The promises (columns), each a subtest Mode/Promise:
//
//   - Limit: while callers load the pool, the server's client count
//     (CLIENT LIST, sampled every few milliseconds) never exceeds
//     MaxConns (a group: per endpoint; a budget: the budget, over its
//     members); nor the lower MaxConns after SetLimits lowers it under
//     load, once a bounded wait has let the extra connections go.
//   - Close: with every lease back, Close returns well within its ctx;
//     then Stats show no connection, the server sees none of the pool's
//     clients, every call fails with ErrPoolClosed, and no goroutine is
//     left (goleak).
//   - NoDoubleLease: no server-side client id (CLIENT ID) is held by two
//     leases at once; in command mode every reply is its own request's
//     (each caller sets and reads its own keys).
//   - StatsAddUp: Total = Idle + Leased + Dialing in every snapshot taken
//     under load; afterwards the pool's count of grants (Acquired; in
//     command mode Commands) equals the successful calls the test counted.
//   - ErrorsNameCause: with the server killed, calls fail fast with
//     ErrBackendUnavailable wrapping syscall.ECONNREFUSED (a group's error
//     also names each endpoint), and nothing else than that or a network
//     error; after a restart the pool serves again by itself.
//   - EveryCallerAnswered: callers with long and very short deadlines,
//     and a Close in the middle of their load: every call returns, within
//     its deadline and a bound, with success or a typed error.
//
// The budget's row runs live protoactor cluster members, in whose remote
// and gossip code the race detector reports races; it is built without
// -race only (build tag !race), and the Makefile runs it in its step
// without -race. The other rows run under go test -race.
package promises
