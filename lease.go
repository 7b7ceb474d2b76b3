package actorpool

import (
	"errors"
	"fmt"

	"github.com/actorpool/actorpool/internal/ledger"
)

// Lease is a holder's handle on one pooled connection: Conn to use it,
// Release to give it back, MarkBroken to have it replaced. It is a small
// value: copy it freely; every copy names the same lease, which ends
// exactly once. The zero Lease holds nothing.
type Lease[C any] struct {
	slot *ledger.Slot[C]
	gen  uint64 // the lease's generation on slot
}

// Conn returns the leased connection. Use it until the lease ends; after
// that it belongs to someone else, or is closed.
func (l Lease[C]) Conn() C {
	if l.slot == nil {
		var zero C
		return zero
	}
	return l.slot.Conn
}

// Release ends the lease and gives the connection back to the pool, which
// resets it before lending it again (or lends it at once when the backend
// says nothing needs undoing). A second call returns ErrLeaseReleased; a
// call after the pool revoked the lease returns ErrLeaseRevoked. Neither
// changes anything. Release never blocks.
func (l Lease[C]) Release() error {
	if l.slot == nil {
		return ErrLeaseReleased
	}
	return l.slot.Ledger().End(l.slot, l.gen, false, nil)
}

// MarkBroken ends the lease and tells the pool the connection is unusable:
// it is closed and replaced, never lent again. cause is kept for logs and
// may be nil. Errors as for Release.
func (l Lease[C]) MarkBroken(cause error) error {
	if l.slot == nil {
		return ErrLeaseReleased
	}
	return l.slot.Ledger().End(l.slot, l.gen, true, cause)
}

// Valid reports whether the lease is still held: not released, broken or
// revoked.
func (l Lease[C]) Valid() bool {
	return l.slot != nil && l.slot.Ledger().Valid(l.slot, l.gen)
}

// ID names the connection behind the lease, for logs.
func (l Lease[C]) ID() uint64 {
	if l.slot == nil {
		return 0
	}
	return l.slot.ID
}

// Run runs fn on the leased connection and ends the lease: MarkBroken when
// fn's error is fatal for the connection (isFatal, usually the backend's
// IsFatal) or fn panics or ends its goroutine, Release otherwise. It
// returns fn's error, or the lease's own error (ErrLeaseRevoked) when fn
// succeeded on a lease the pool took back meanwhile. Pool.With is Acquire
// then Run; it serves callers that acquire another way (a group of pools,
// an actor's grant).
func (l Lease[C]) Run(fn func(conn C) error, isFatal func(error) bool) (err error) {
	ended := false
	defer func() {
		if ended {
			return
		}
		// fn panicked, or ended its goroutine (runtime.Goexit): the
		// connection's state is unknown.
		r := recover()
		if r == nil {
			_ = l.MarkBroken(errors.New("actorpool: fn ended its goroutine in With"))
			return
		}
		_ = l.MarkBroken(fmt.Errorf("actorpool: panic in With: %v", r))
		panic(r)
	}()
	err = fn(l.Conn())
	ended = true
	var endErr error
	if err != nil && isFatal(err) {
		endErr = l.MarkBroken(err)
	} else {
		endErr = l.Release()
	}
	if err == nil && endErr != nil {
		return endErr
	}
	return err
}
