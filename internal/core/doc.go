// Package core holds the types shared by the pool's actors, its messages and
// its public facade: the slot that carries one live connection, the lease
// handle a holder gets, the stack of idle connections callers take from
// without the broker (Idle), the acquire request a caller parks on, the failure
// reasons connection actors crash with, and the error sentinels.
//
// The central guarantee lives in Slot.state: every lease ends exactly once,
// decided by one compare-and-swap, whoever (holder or broker) gets there
// first.
package core
