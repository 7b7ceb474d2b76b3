// Package membackend is an in-memory backend for tests, the pool's own and
// its users'. It counts dials, closes and live connections, can be told to
// fail or delay dials, fail pings and resets (always, or at random), delay
// pings, and break a live connection, and each connection records who holds
// it, so that a test can prove no connection is ever held twice, pinged
// while held, or used after it was closed.
package membackend

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorpool/actorpool/backends"
)

var (
	// ErrDialRefused is what dials return after FailDials(nil).
	ErrDialRefused = errors.New("membackend: dial refused")
	// ErrBroken is what a broken connection returns from every call.
	ErrBroken = errors.New("membackend: connection broken")
	// ErrClosed is what a closed connection returns from every call.
	ErrClosed = errors.New("membackend: connection closed")
	// ErrHeldTwice is what Hold returns when the connection already has a
	// holder, or is being pinged: the pool lent it twice.
	ErrHeldTwice = errors.New("membackend: connection held twice")
)

// Backend is an in-memory backends.Backend[*Conn]. The zero value is not
// usable; call New.
type Backend struct {
	mu       sync.Mutex
	conns    []*Conn
	dialErr  error
	delay    time.Duration
	pingErr  error
	resetErr error

	pingDelay    time.Duration
	batchDelay   time.Duration // DelayPipelines
	closeDelay   time.Duration // DelayCloses
	dialFailRate float64       // share of dials that fail, 0..1
	pingFailRate float64       // share of pings that fail, 0..1

	nextID     atomic.Uint64
	dials      atomic.Int64
	dialErrors atomic.Int64
	closes     atomic.Int64
	resets     atomic.Int64
	pings      atomic.Int64
	violations atomic.Int64
	sent       atomic.Int64 // Commands sent by a Duplexed backend's halves
	inFlight   atomic.Int64 // dials under way
	peak       atomic.Int64 // most dials under way at once since ResetPeakDials
}

var (
	_ backends.Backend[*Conn]      = (*Backend)(nil)
	_ backends.ResetTracker[*Conn] = (*Backend)(nil)
	_ backends.Namer               = (*Backend)(nil)
)

// New returns a backend whose dials succeed at once.
func New() *Backend { return &Backend{} }

// Name is "mem", the pool's default name for metrics and traces.
func (b *Backend) Name() string { return "mem" }

// Conn is one in-memory connection.
type Conn struct {
	ID      uint64
	b       *Backend
	holder  atomic.Int64
	pinging atomic.Bool
	closed  atomic.Bool
	broken  atomic.Bool
	dirty   atomic.Bool
}

// FailDials makes every later dial fail with err (ErrDialRefused when err
// is nil) until Heal.
func (b *Backend) FailDials(err error) {
	if err == nil {
		err = ErrDialRefused
	}
	b.mu.Lock()
	b.dialErr = err
	b.mu.Unlock()
}

// DelayDials makes every later dial take d (or until its ctx ends).
func (b *Backend) DelayDials(d time.Duration) {
	b.mu.Lock()
	b.delay = d
	b.mu.Unlock()
}

// DelayCloses makes every later Close take d, as a backend whose Close
// waits until the server has let the connection go.
func (b *Backend) DelayCloses(d time.Duration) {
	b.mu.Lock()
	b.closeDelay = d
	b.mu.Unlock()
}

// FailPings makes every later Ping fail with err; nil heals pings.
func (b *Backend) FailPings(err error) {
	b.mu.Lock()
	b.pingErr = err
	b.mu.Unlock()
}

// DelayPings makes every later Ping take d (or until its ctx ends).
func (b *Backend) DelayPings(d time.Duration) {
	b.mu.Lock()
	b.pingDelay = d
	b.mu.Unlock()
}

// FailDialsAtRandom makes each later dial fail with ErrDialRefused with
// probability p (0 turns it off), independently of FailDials.
func (b *Backend) FailDialsAtRandom(p float64) {
	b.mu.Lock()
	b.dialFailRate = p
	b.mu.Unlock()
}

// FailPingsAtRandom makes each later Ping fail with ErrBroken with
// probability p (0 turns it off), independently of FailPings. The
// connection itself stays usable; the pool is expected to replace it.
func (b *Backend) FailPingsAtRandom(p float64) {
	b.mu.Lock()
	b.pingFailRate = p
	b.mu.Unlock()
}

// FailResets makes every later Reset fail with err; nil heals resets.
func (b *Backend) FailResets(err error) {
	b.mu.Lock()
	b.resetErr = err
	b.mu.Unlock()
}

// Heal undoes FailDials and DelayDials.
func (b *Backend) Heal() {
	b.mu.Lock()
	b.dialErr, b.delay = nil, 0
	b.mu.Unlock()
}

// Dial implements backends.Backend.
func (b *Backend) Dial(ctx context.Context) (*Conn, error) {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
	}
	b.mu.Lock()
	err, delay := b.dialErr, b.delay
	if err == nil && b.dialFailRate > 0 && rand.Float64() < b.dialFailRate {
		err = ErrDialRefused
	}
	b.mu.Unlock()
	if cerr := sleep(ctx, delay); cerr != nil {
		b.dialErrors.Add(1)
		return nil, fmt.Errorf("membackend: dial: %w", cerr)
	}
	if err != nil {
		b.dialErrors.Add(1)
		return nil, err
	}
	c := &Conn{ID: b.nextID.Add(1), b: b}
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	b.dials.Add(1)
	return c, nil
}

// Ping implements backends.Backend. Pinging a connection that has a holder
// counts as a violation: the pool pings idle connections only.
func (b *Backend) Ping(ctx context.Context, c *Conn) error {
	b.pings.Add(1)
	if c.holder.Load() != 0 {
		b.violations.Add(1)
	}
	c.pinging.Store(true)
	defer c.pinging.Store(false)
	b.mu.Lock()
	err, delay := b.pingErr, b.pingDelay
	if err == nil && b.pingFailRate > 0 && rand.Float64() < b.pingFailRate {
		err = ErrBroken
	}
	b.mu.Unlock()
	if cerr := sleep(ctx, delay); cerr != nil {
		return fmt.Errorf("membackend: ping: %w", cerr)
	}
	if cerr := c.check(); cerr != nil {
		return cerr
	}
	return err
}

// Reset implements backends.Backend: it clears what Dirty set.
func (b *Backend) Reset(_ context.Context, c *Conn) error {
	b.resets.Add(1)
	if err := c.check(); err != nil {
		return err
	}
	b.mu.Lock()
	err := b.resetErr
	b.mu.Unlock()
	if err == nil {
		c.dirty.Store(false)
	}
	return err
}

// NeedsReset implements backends.ResetTracker: only a connection that ran
// Do since its last Reset is reset.
func (b *Backend) NeedsReset(c *Conn) bool { return c.dirty.Load() }

// Close implements backends.Backend. Closing a connection twice counts as a
// violation.
func (b *Backend) Close(c *Conn) error {
	if !c.closed.CompareAndSwap(false, true) {
		b.violations.Add(1)
		return ErrClosed
	}
	b.mu.Lock()
	delay := b.closeDelay
	b.mu.Unlock()
	time.Sleep(delay)
	b.closes.Add(1)
	return nil
}

// IsFatal implements backends.Backend.
func (b *Backend) IsFatal(err error) bool {
	return errors.Is(err, ErrBroken) || errors.Is(err, ErrClosed)
}

// Dials is the number of successful dials.
func (b *Backend) Dials() int { return int(b.dials.Load()) }

// DialErrors is the number of failed dials.
func (b *Backend) DialErrors() int { return int(b.dialErrors.Load()) }

// Closes is the number of connections closed.
func (b *Backend) Closes() int { return int(b.closes.Load()) }

// Live is the number of connections dialled and not yet closed.
func (b *Backend) Live() int { return int(b.dials.Load() - b.closes.Load()) }

// Resets is the number of Reset calls.
func (b *Backend) Resets() int { return int(b.resets.Load()) }

// Pings is the number of Ping calls.
func (b *Backend) Pings() int { return int(b.pings.Load()) }

// DialsInFlight is the number of dials under way now.
func (b *Backend) DialsInFlight() int { return int(b.inFlight.Load()) }

// PeakDialsInFlight is the largest number of dials under way at once since
// the backend was made or ResetPeakDials was called.
func (b *Backend) PeakDialsInFlight() int { return int(b.peak.Load()) }

// ResetPeakDials starts PeakDialsInFlight again from the dials under way now.
func (b *Backend) ResetPeakDials() { b.peak.Store(b.inFlight.Load()) }

// Violations counts connections held twice, used or held after close, or
// closed twice. A correct pool keeps it at zero.
func (b *Backend) Violations() int { return int(b.violations.Load()) }

// Conns returns every connection ever dialled.
func (b *Backend) Conns() []*Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Conn(nil), b.conns...)
}

// Hold records holder (non-zero) as the connection's user. It fails, and
// counts a violation, when someone else holds it or the pool is pinging it.
// On a closed connection it fails with ErrClosed, uncounted.
func (c *Conn) Hold(holder int64) error {
	if c.closed.Load() {
		// Not counted: a pool closes a connection whose lease it revoked,
		// and the holder may get here after that. Whether the lease was
		// still valid is the caller's to check (a pool revokes first and
		// closes after, so a closed connection under a valid lease is a
		// pool bug).
		return fmt.Errorf("%w: conn %d", ErrClosed, c.ID)
	}
	if c.pinging.Load() {
		c.b.violations.Add(1)
		return fmt.Errorf("%w: conn %d is being pinged", ErrHeldTwice, c.ID)
	}
	if !c.holder.CompareAndSwap(0, holder) {
		c.b.violations.Add(1)
		return fmt.Errorf("%w: conn %d held by %d, wanted by %d", ErrHeldTwice, c.ID, c.holder.Load(), holder)
	}
	return nil
}

// Unhold clears holder; a holder other than the recorded one is a violation.
func (c *Conn) Unhold(holder int64) {
	if !c.holder.CompareAndSwap(holder, 0) {
		c.b.violations.Add(1)
	}
}

// Do simulates a command: it fails when the connection is broken or closed,
// and leaves the session dirty until the next Reset.
func (c *Conn) Do() error {
	if err := c.check(); err != nil {
		return err
	}
	c.dirty.Store(true)
	return nil
}

// Dirty reports whether a command ran since the last Reset.
func (c *Conn) Dirty() bool { return c.dirty.Load() }

// Break makes every later call on the connection fail with ErrBroken.
func (c *Conn) Break() { c.broken.Store(true) }

// Closed reports whether the pool closed the connection.
func (c *Conn) Closed() bool { return c.closed.Load() }

func (c *Conn) check() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.broken.Load() {
		return ErrBroken
	}
	return nil
}

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
