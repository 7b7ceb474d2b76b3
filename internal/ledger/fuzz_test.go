package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// FuzzLedgerRules decodes its input as a sequence of steps, two bytes
// each (what, which), and plays them on a ledger from every side at once:
// goroutine callers and actors acquire, cancel and time out; holders
// release, mark broken and release twice; connection actors dial, fail to
// dial, reset, fail a reset and answer pings; the broker places returned
// connections, sets limits, opens and shuts the circuit, sweeps, revokes
// leases, reclaims a stopped owner's, and closes. After every step it
// checks the ledger's rules against its own records (see check): no
// connection held twice, every lease ends exactly once, nothing lost,
// Stats add up, FIFO, nothing granted after Close.
//
// The seed corpus under testdata/fuzz/FuzzLedgerRules runs with every
// plain go test; go test -fuzz FuzzLedgerRules ./internal/ledger explores.
func FuzzLedgerRules(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 0, 2, 1})
	f.Add([]byte{10, 0, 10, 1, 0, 0, 0, 1, 1, 0, 5, 0, 2, 0, 7, 0, 8, 0})
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	sink := func(actor.Context) {}
	var owners []*actor.PID
	for range 3 {
		owners = append(owners, sys.Root.Spawn(actor.PropsFromFunc(sink)))
	}
	broker := sys.Root.Spawn(actor.PropsFromFunc(sink))
	f.Cleanup(func() {
		for _, pid := range append(owners, broker) {
			_ = sys.Root.StopFuture(pid).Wait()
		}
	})
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 400 {
			steps = steps[:400]
		}
		w := newWorld(t, sys.Root, broker, owners)
		defer w.finish()
		for i := 0; i+1 < len(steps); i += 2 {
			w.step = i / 2
			w.overloads = w.l.Stats().Overloads
			w.do(steps[i], steps[i+1])
			w.settle()
			w.check()
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

// world is one run: the ledger, and what every side holds of it.
type world struct {
	t      *testing.T
	l      *Ledger[int]
	owners []*actor.PID
	step   int

	nextID  uint64
	seq     int            // numbers requests as they join the line
	leases  []*lease       // granted, in order
	waiters []*goWaiter    // goroutine callers, in order of arrival
	queued  []*actorWaiter // actors' requests in line
	pinging []*Slot[int]   // idle connections out for a ping, in order
	closed  bool
	// overloads is the ledger's count of overloads before this step.
	overloads uint64
}

type lease struct {
	s     *Slot[int]
	gen   uint64
	owner *actor.PID
	ended bool
	// revoked: the pool took it back; a later End must say so.
	revoked bool
}

type goWaiter struct {
	seq    int
	cancel context.CancelFunc
	done   chan result
	over   bool // its result has been collected
}

type actorWaiter struct {
	seq int
	r   *Request[int]
}

func newWorld(t *testing.T, root *actor.RootContext, broker *actor.PID, owners []*actor.PID) *world {
	w := &world{t: t, owners: owners}
	w.l = New(Config[int]{
		Logger: slog.New(slog.DiscardHandler), Nudge: struct{}{},
		// odd connections are lent again without their actor's reset
		NeedsReset: func(c int) bool { return c%2 == 0 },
		Granted:    func(*Slot[int], uint64, any) any { return struct{}{} },
		Failed:     func(error, any) any { return struct{}{} },
		// Overload control is on, but only a line aged on purpose (step
		// 255) is ever past its target.
		Policy: Policy{QueueTarget: time.Hour, QueueInterval: time.Nanosecond},
	}, 0, 3)
	w.l.Bind(root, broker)
	return w
}

// do plays one step.
func (w *world) do(what, which byte) {
	l, n := w.l, int(which)
	if what == 255 { // everyone in line joined long ago: the pool is overloaded
		w.age()
		return
	}
	switch what % 20 {
	case 0: // a goroutine acquires
		w.goAcquire()
	case 1: // an actor acquires by message
		owner := w.owners[n%len(w.owners)]
		s, gen, r, err := l.Admit(owner, owner, time.Hour, false, nil)
		switch {
		case r != nil:
			w.seq++
			w.queued = append(w.queued, &actorWaiter{seq: w.seq, r: r})
		case err == nil:
			w.granted(s, gen, owner)
		}
	case 2, 3: // a holder releases, or marks broken
		if le := w.pick(n, false); le != nil {
			w.end(le, what%20 == 3)
		}
	case 4: // a holder ends a lease that already ended
		if le := w.pick(n, true); le != nil {
			w.end(le, n%2 == 0)
		}
	case 5: // a goroutine caller's ctx ends
		if gw := w.waiting(n); gw != nil {
			gw.cancel()
			w.collect(gw, true)
		}
	case 6: // a goroutine caller's own timer fires
		w.goTimeout(n)
	case 7: // the broker's timer for an actor's request fires
		if len(w.queued) > 0 {
			aw := w.queued[n%len(w.queued)]
			if err := l.Expire(aw.r); !errors.Is(err, ErrAcquireTimeout) {
				w.t.Errorf("step %d: Expire of a request in line returned %v", w.step, err)
			}
		}
	case 8:
		l.Close()
		w.closed = true
	case 9: // SetLimits
		lo := n % 3
		w.l.SetLimits(lo, lo+n/3%4)
	case 10: // a connection actor's dial succeeds
		w.dialed()
	case 11: // a connection actor's dial fails: the broker stops it
		w.dialFailed(n)
	case 12: // the circuit closes
		l.SetCircuit(nil, nil)
	case 13: // a connection actor finishes with a lease that ended
		w.actorDone(n)
	case 14: // the broker places connections handed to it
		w.place()
	case 15: // the lease check revokes every lease, or Close gave up
		w.revoke(n)
	case 16: // an owner actor stops
		w.dropOwner(w.owners[n%len(w.owners)])
	case 17: // the broker's maintenance tick
		w.sweep(n)
	case 18: // the broker is nudged: stale connections go for a ping
		w.pinging = append(w.pinging, l.Nudged()...)
	case 19: // a ping comes back
		w.pinged(n)
	}
}

func (w *world) goAcquire() {
	ctx, cancel := context.WithCancel(context.Background())
	w.seq++
	gw := &goWaiter{seq: w.seq, cancel: cancel, done: make(chan result, 1)}
	w.waiters = append(w.waiters, gw)
	go func() {
		s, gen, err := w.l.Acquire(ctx, time.Hour, nil)
		gw.done <- result{s, gen, err}
	}()
	// Until it returns or joins the line, the next step could race it.
	w.settle()
}

// age makes every request in line look three target-lengths old, so that
// the next connection to come back finds the pool overloaded: it goes to
// the newest waiter, and the others are shed.
func (w *world) age() {
	w.l.lock()
	defer w.l.mu.Unlock()
	for r := w.l.line.head; r != nil; r = r.next {
		r.Deadline = r.Deadline.Add(-3 * w.l.cfg.QueueTarget)
	}
}

// overloaded reports whether overload control served out of order during
// this step (first come, first served does not hold then).
func (w *world) overloaded() bool {
	w.l.lock()
	defer w.l.mu.Unlock()
	return w.l.ov.on || w.l.n.Overloads > w.overloads
}

// goTimeout makes the n-th goroutine waiter in line past its deadline and
// runs its timer.
func (w *world) goTimeout(n int) {
	in := w.goRequests()
	if len(in) == 0 {
		return
	}
	r := in[n%len(in)]
	w.l.lock()
	r.Deadline = time.Now().Add(-time.Nanosecond)
	w.l.mu.Unlock()
	w.l.expire(r)
}

func (w *world) dialed() {
	l := w.l
	l.lock()
	spare := l.total - len(l.live)
	l.mu.Unlock()
	if spare == 0 && l.ReserveOne() == 0 {
		return
	}
	w.nextID++
	s := NewSlot(l, w.owners[0], w.nextID, int(w.nextID), struct{}{}, func(*Slot[int]) any { return struct{}{} })
	if retire, replace := l.Add(s); retire && !replace {
		w.unreserveIfSpare()
	}
}

func (w *world) dialFailed(n int) {
	l := w.l
	err := fmt.Errorf("dial %d: connection refused", n)
	if l.Stats().Total-len(w.alive()) > 0 {
		l.Unreserve()
	}
	if len(w.alive()) == 0 {
		l.SetCircuit(errors.Join(ErrBackendUnavailable, err), err)
	}
}

// unreserveIfSpare stops a connection actor without a connection, as the
// broker does when the pool has too many.
func (w *world) unreserveIfSpare() {
	l := w.l
	l.lock()
	spare := l.total - len(l.live)
	over := l.total > l.max
	l.mu.Unlock()
	if spare > 0 && over {
		l.Unreserve()
	}
}

// actorDone: the actor of the n-th connection whose lease ended resets it
// (or fails to, then closes it), or closes it when it was marked broken.
func (w *world) actorDone(n int) {
	var ended []*Slot[int]
	for _, s := range w.alive() {
		if s.state == stEnded {
			ended = append(ended, s)
		}
	}
	if len(ended) == 0 {
		return
	}
	s := ended[n%len(ended)]
	ok, _ := w.l.Resettable(s)
	switch {
	case ok && n%4 != 3:
		w.l.Returned(s)
	default:
		w.l.Lost(s, ok)
	}
}

func (w *world) place() {
	for _, s := range w.handed() {
		if retire, replace := w.l.Place(s); retire && !replace {
			w.unreserveIfSpare()
		}
	}
}

func (w *world) revoke(n int) {
	var revoked int
	if n%2 == 0 {
		r, _ := w.l.ScanLeases(time.Now().Add(time.Hour), time.Minute, 0)
		revoked = len(r)
	} else {
		revoked = w.l.RevokeAll()
	}
	got := 0
	for _, le := range w.leases {
		if !le.ended && le.s.state == stGone {
			le.ended, le.revoked = true, true
			got++
		}
	}
	if got != revoked {
		w.t.Errorf("step %d: %d leases revoked, %d reported", w.step, got, revoked)
	}
}

func (w *world) dropOwner(owner *actor.PID) {
	reclaimed := w.l.DropOwner(owner)
	for _, s := range reclaimed {
		le := w.active(s)
		if le == nil || !le.owner.Equal(owner) {
			w.t.Errorf("step %d: %v reclaimed, not leased to the stopped owner", w.step, s)
			continue
		}
		le.ended, le.revoked = true, true
	}
	for _, le := range w.leases {
		if !le.ended && le.owner != nil && le.owner.Equal(owner) {
			w.t.Errorf("step %d: a lease of the stopped owner was not reclaimed", w.step)
		}
	}
	kept := w.queued[:0]
	for _, aw := range w.queued {
		if aw.r.Owner.Equal(owner) {
			if aw.r.queued {
				w.t.Errorf("step %d: a request of the stopped owner is still in line", w.step)
			}
			continue
		}
		kept = append(kept, aw)
	}
	w.queued = kept
}

func (w *world) sweep(n int) {
	retire, ping, replace := w.l.Sweep(time.Now(), func(s *Slot[int], aboveMin, last bool) Verdict {
		v := Verdict((n + int(s.ID)) % 5)
		if v == RetireIdle && !aboveMin {
			return Keep
		}
		return v
	})
	w.pinging = append(w.pinging, ping...)
	for range len(retire) - replace {
		w.unreserveIfSpare()
	}
}

func (w *world) pinged(n int) {
	if len(w.pinging) == 0 {
		return
	}
	i := n % len(w.pinging)
	s := w.pinging[i]
	w.pinging = append(w.pinging[:i], w.pinging[i+1:]...)
	var err error
	if n%3 == 2 {
		err = errors.New("ping: broken pipe")
	}
	w.l.Pinged(s, n%2 == 0, err)
}
