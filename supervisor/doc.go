// Package supervisor holds the actor that owns a pool's connection actors.
//
// It spawns them when the broker asks (Grow), forwards each new connection
// to the broker, and restarts crashed ones under a named strategy: a lost
// connection is redialled at once, a failed dial after a capped exponential
// backoff with jitter. protoactor's own "exponential" strategy is linear
// and uncapped, so it is not used.
//
// It also keeps the backend from being stormed while it is down: once a
// dial fails with no connection alive (the circuit is open), only one
// connection actor at a time redials (the probe, half-open), the others
// wait; when a probe gets through, the rest dial again RefillDials at a
// time. The broker may ask it to stop actors that have no connection
// (Shrink) when MaxConns is lowered at run time.
package supervisor
