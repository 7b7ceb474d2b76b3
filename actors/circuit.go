package actors

// This file is the dialer's circuit.
//
// The circuit: when a dial fails while no connection is alive, or the last
// live connection goes while the last dial failed, the circuit opens:
// every waiter and every acquire fails fast with ErrBackendUnavailable
// wrapping the dial error. One connection actor at a time (the probe)
// redials, after the backoff of the probes that failed before it; every
// other one that has no connection is parked. While callers keep asking,
// the probe redials a tenth of BackoffMin (jittered) after its last
// failure instead, so the pool is back within about BackoffMin/10 of the
// backend: at most one dial in flight, and about 10/BackoffMin dials a
// second against a backend that is still down. The first successful dial
// closes the circuit, and the parked actors redial, RefillDials at a time.

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// openCircuit starts failing acquires fast and parks every actor waiting
// to redial but opener: from now on only the probe dials, its backoff
// carrying on from opener's failures.
func (b *broker[C]) openCircuit(opener *child) {
	d := &b.dialer
	d.open, d.openedAt, d.probe, d.probeFailures = true, time.Now(), nil, 0
	if opener != nil {
		d.probeFailures = opener.failures - 1
	}
	for _, c := range d.children {
		if c.state == backingOff && c != opener {
			d.park(c)
		}
	}
	b.cfg.Logger.Warn("actorpool: backend unavailable; acquires fail fast until a dial succeeds", "err", d.lastErr)
	b.l.Count(func(n *ledger.Counters) { n.CircuitOpens++ })
	b.l.SetCircuit(b.unavailable(), d.lastErr)
}

func (b *broker[C]) unavailable() error {
	return fmt.Errorf("%w: %w", ledger.ErrBackendUnavailable, b.dialer.lastErr)
}

// demand answers callers failed fast: there is a probe, and it redials
// BackoffMin/10, drawn from [d/2, d], after its last failure when that is
// sooner than its backoff.
func (b *broker[C]) demand(ctx actor.Context) {
	d := &b.dialer
	if !d.open || d.demanded || b.closing() {
		return
	}
	d.demanded = true
	b.ensureProbe(ctx)
	c := d.probe
	if c == nil || c.state != backingOff || c.timer == nil {
		return
	}
	soon := max(d.policy().Min/10, time.Millisecond)
	due := c.failedAt.Add(soon/2 + rand.N(soon/2+1))
	if !due.Before(c.due) {
		return
	}
	c.timer.Stop()
	delay := max(time.Until(due), 0)
	b.cfg.Logger.Debug("actorpool: callers are waiting; probe redial brought forward", "retry_in", delay)
	b.schedule(c, delay)
}

// ensureProbe makes sure that, while the circuit is open, one actor will
// dial: a parked one, after the probes' backoff, or, when none is parked
// or dialling and the pool needs a connection (MinConns, or callers asked),
// a new one.
func (b *broker[C]) ensureProbe(ctx actor.Context) {
	d := &b.dialer
	if !d.open || d.probe != nil || b.closing() {
		return
	}
	if len(d.parked) > 0 {
		c := d.parked[0]
		d.parked = d.parked[1:]
		d.probe = c
		delay := d.policy().Delay(max(d.probeFailures, 1))
		b.schedule(c, delay)
		b.cfg.Logger.Debug("actorpool: a parked connection actor is the probe now", "retry_in", delay)
		return
	}
	if d.spawning > 0 || d.anyDialing() {
		return // that dial is the probe
	}
	if c := b.l.Counts(); c.Min == 0 && !d.demanded {
		return // nobody needs a connection yet
	}
	b.spawn(ctx, b.l.ReserveOne())
}

// refill lets parked actors redial once the circuit closed, RefillDials at
// a time.
func (b *broker[C]) refill(ctx actor.Context) {
	d := &b.dialer
	for !d.open && !b.closing() && d.refilling < RefillDials && len(d.parked) > 0 {
		c := d.parked[0]
		d.parked = d.parked[1:]
		c.state, c.refill = dialing, true
		d.refilling++
		ctx.Send(b.supervisor, &proto.Restart{Child: c.pid})
	}
}
