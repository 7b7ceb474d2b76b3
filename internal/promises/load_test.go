package promises_test

// This file is the load every promise runs: callers that call a rig in a
// loop and count what came back, and the work each call does on the
// server.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

const (
	callTimeout = 3 * time.Second        // a call's deadline
	shortCall   = 100 * time.Microsecond // a call meant to end while it waits
	slack       = time.Second            // how late past its deadline a call may return
	bound       = 10 * time.Second       // every wait on the pool or the server
	closeBound  = 5 * time.Second        // Close's ctx
	promptClose = closeBound / 2         // Close with every lease back returns within this
	sampleEvery = 2 * time.Millisecond   // the server's clients are counted this often
	statsEvery  = 500 * time.Microsecond // Stats snapshots are taken this often
)

// errNotAnswered is the error of a call that did not return within its
// deadline and slack (an actor's answer that never came).
var errNotAnswered = errors.New("not answered within the call's deadline and slack")

// load is callers calling a rig in a loop until stop.
type load struct {
	r                 *rig
	started, returned atomic.Int64
	ok, failed        atomic.Int64
	late              atomic.Int64 // calls that returned after their deadline and slack
	// The failed calls by kind: ErrPoolClosed, ErrBackendUnavailable,
	// the call's deadline (ErrAcquireTimeout, or ctx's deadline as a
	// context or network error), and any other.
	closed, unavailable, timeouts atomic.Int64
	stopping                      context.CancelFunc
	done                          chan struct{}

	mu     sync.Mutex
	first  []error // the first errors, for failure messages
	others []error // the first errors of no kind above
}

// loadOpts shapes a load.
type loadOpts struct {
	callers int
	// short, when set, gives every fourth call of each caller the
	// deadline shortCall instead of callTimeout.
	short bool
	// untilClosed, when set, ends a caller's loop at its first call
	// that fails with ErrPoolClosed.
	untilClosed bool
}

// startLoad starts the callers; the test's cleanup stops them.
func startLoad(t *testing.T, r *rig, o loadOpts) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{r: r, stopping: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for c := range o.callers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				d := callTimeout
				if o.short && n%4 == 3 {
					d = shortCall
				}
				if err := l.call(c, n, d); o.untilClosed && errors.Is(err, actorpool.ErrPoolClosed) {
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(l.done) }()
	t.Cleanup(func() { l.stop(t) })
	return l
}

// call makes one call with deadline d, counts how it ended and returns
// its error. Calls are not cancelled when the load stops: each runs to
// its own end.
func (l *load) call(c, n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	l.started.Add(1)
	begin := time.Now()
	err := l.r.call(ctx, c, n)
	if time.Since(begin) > d+slack {
		l.late.Add(1)
	}
	l.returned.Add(1)
	if err == nil {
		l.ok.Add(1)
		return nil
	}
	l.failed.Add(1)
	other := false
	switch {
	case errors.Is(err, actorpool.ErrPoolClosed):
		l.closed.Add(1)
	case errors.Is(err, actorpool.ErrBackendUnavailable):
		l.unavailable.Add(1)
	case deadline(err):
		l.timeouts.Add(1)
	default:
		other = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.first) < 10 {
		l.first = append(l.first, err)
	}
	if other && len(l.others) < 100 {
		l.others = append(l.others, err)
	}
	return err
}

// deadline reports whether err is a call's deadline: ErrAcquireTimeout,
// or ctx's deadline as a context error or as a network read or write
// that ran into it.
func deadline(err error) bool {
	return errors.Is(err, actorpool.ErrAcquireTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded)
}

// stop ends the loop of every caller and waits, within a bound, until
// their last calls have returned.
func (l *load) stop(t testing.TB) {
	t.Helper()
	l.stopping()
	select {
	case <-l.done:
	case <-time.After(callTimeout + slack + bound):
		t.Errorf("callers still in a call %s after the load stopped: %d started, %d returned",
			callTimeout+slack+bound, l.started.Load(), l.returned.Load())
	}
}

// waitOK waits, within bound, until n more calls than at from succeeded.
func (l *load) waitOK(t *testing.T, from int64, n int64, what string) {
	t.Helper()
	require.Eventually(t, func() bool { return l.ok.Load() >= from+n }, bound, time.Millisecond,
		"%s: %d calls did not succeed within %s (%d did, %d failed: %v)",
		what, n, bound, l.ok.Load()-from, l.failed.Load(), l.firstErrors(3))
}

// firstErrors is up to n of the first errors, for a failure's message.
func (l *load) firstErrors(n int) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.first[:min(n, len(l.first))]...)
}

// otherErrors is the first errors of no kind the load counts.
func (l *load) otherErrors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.others...)
}

// client is a connection as a server knows it: its address and the id
// it gave the connection (ids are per server).
type client struct {
	addr string
	id   int64
}

// holders tracks which server-side clients are held by a lease now.
type holders struct {
	mu      sync.Mutex
	held    map[client]bool
	doubles atomic.Int64 // a lease found its client held by another
	wrong   atomic.Int64 // a reply that was not its own request's
}

func newHolders() *holders { return &holders{held: make(map[client]bool)} }

func (h *holders) hold(id client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[id] {
		h.doubles.Add(1)
		return false
	}
	h.held[id] = true
	return true
}

func (h *holders) free(id client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held, id)
}

// useLease is the work of a call on a leased connection: it asks the
// server for the connection's client id, holds that client while it sets
// and reads back the caller's own key, and checks the value.
func useLease(ctx context.Context, conn *redisbackend.Conn, h *holders, c, n int) error {
	n64, err := conn.ClientID(ctx).Result()
	if err != nil {
		return err
	}
	id := client{addr: conn.Options().Addr, id: n64}
	if !h.hold(id) {
		return fmt.Errorf("client %s id %d is held by another lease", id.addr, id.id)
	}
	defer h.free(id)
	key, val := "k"+strconv.Itoa(c), strconv.Itoa(c)+":"+strconv.Itoa(n)
	if err := conn.Set(ctx, key, val, 0).Err(); err != nil {
		return err
	}
	got, err := conn.Get(ctx, key).Result()
	return h.check(key, val, got, err)
}

// useCommands is the same work in command mode: the caller's own key is
// set and read back through the shared connections; ok counts each
// command that succeeded.
func useCommands(ctx context.Context, rc *redisbackend.Commands, h *holders, ok *atomic.Int64, c, n int) error {
	key, val := "k"+strconv.Itoa(c), strconv.Itoa(c)+":"+strconv.Itoa(n)
	if err := rc.Set(ctx, key, val, 0).Err(); err != nil {
		return err
	}
	ok.Add(1)
	got, err := rc.Get(ctx, key).Result()
	if err == nil {
		ok.Add(1)
	}
	return h.check(key, val, got, err)
}

// check checks a GET of key's reply against the value val set.
func (h *holders) check(key, val, got string, err error) error {
	switch {
	case err != nil:
		return err
	case got != val:
		h.wrong.Add(1)
		return fmt.Errorf("GET %s answered %q, the caller set %q", key, got, val)
	}
	return nil
}
