// Package supervisor holds the actor that owns a pool's connection actors.
//
// It spawns them when the broker asks (Grow), forwards each new connection
// to the broker, and restarts crashed ones under a named strategy: a lost
// connection is redialled at once, a failed dial after a capped exponential
// backoff with jitter. protoactor's own "exponential" strategy is linear
// and uncapped, so it is not used.
package supervisor
