//go:build !race

// What the server sees of each member: see site_test.go for why without
// -race.

package budget_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// memberClients tells the server's clients of each member apart: by name,
// and, for a client not named yet (its handshake on the way), by the
// address its member's pool dialled from.
type memberClients struct {
	srv     *redisserver.Server
	members int
	mu      sync.Mutex
	byAddr  map[string]int // a dialled socket's local address → member
}

func newMemberClients(srv *redisserver.Server, members int) *memberClients {
	return &memberClients{srv: srv, members: members, byAddr: map[string]int{}}
}

// dialer returns member i's Dialer. It binds each socket to a loopback
// port and records that address before connecting, so that the server
// never lists a client of no member.
func (mc *memberClients) dialer(i int) func(context.Context, string, string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			if err = syscall.Bind(int(fd), &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return
			}
			sa, gerr := syscall.Getsockname(int(fd))
			a, ok := sa.(*syscall.SockaddrInet4)
			if gerr != nil || !ok {
				err = fmt.Errorf("the socket's address (%v): %w", sa, gerr)
				return
			}
			mc.mu.Lock()
			mc.byAddr[netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()] = i
			mc.mu.Unlock()
		})
		return errors.Join(cerr, err)
	}}
	return d.DialContext
}

// count reads CLIENT LIST: each member's clients, all clients, and those
// of no member.
func (mc *memberClients) count(ctx context.Context) (per []int, total, unknown int, err error) {
	cs, err := mc.srv.Clients(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	per = make([]int, mc.members)
	byName := map[string]int{}
	for i := range per {
		byName[memberName(i)] = i
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	for _, c := range cs {
		i, ok := byName[c.Name]
		if !ok {
			i, ok = mc.byAddr[c.Addr]
		}
		if ok {
			per[i]++
		} else {
			unknown++
		}
	}
	return per, len(cs), unknown, nil
}

// grace is how long a member may show the clients of a limit just
// lowered: its leased connections come back and close within it (it is
// testBudget's Settle, 2 × Interval).
var grace = 2 * testBudget.Interval

// memberWatch counts each member's clients on the server continuously,
// reading every member's MaxConns just before and just after each count.
// All members together may show at most the budget; a member, at most the
// highest limit its pool had from grace before the count to just after
// it.
type memberWatch struct {
	clients    *memberClients
	budget     int
	nodes      []*redisNode
	stop, done chan struct{}
	once       sync.Once

	// written by run, read once done is closed
	took                                time.Duration
	samples, errs, overTotal, mostTotal int
	mostUnknown                         int
	members                             []watched
}

// watched is what a memberWatch saw of one member.
type watched struct {
	most, over        int // the most clients seen; counts above the allowed
	worst, worstLimit int // the count furthest above, and what was allowed then
	low, high         int // the lowest and highest limit read
	limits            []reading
}

type reading struct {
	at time.Time
	n  int
}

// watchMembers starts watching ns for d, or until check or the end of the
// test.
func watchMembers(t *testing.T, mc *memberClients, budget int, ns []*redisNode, d time.Duration) *memberWatch {
	w := &memberWatch{
		clients: mc, budget: budget, nodes: ns,
		stop: make(chan struct{}), done: make(chan struct{}), members: make([]watched, len(ns)),
	}
	for i := range ns {
		w.members[i].low = budget
	}
	t.Cleanup(w.end)
	go w.run(d)
	return w
}

func (w *memberWatch) run(d time.Duration) {
	defer close(w.done)
	begin := time.Now()
	defer func() { w.took = time.Since(begin) }()
	for time.Since(begin) < d {
		select {
		case <-w.stop:
			return
		default:
		}
		w.sample()
	}
}

// sample counts the clients once.
func (w *memberWatch) sample() {
	at := time.Now()
	w.readLimits(at)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	counts, total, unknown, err := w.clients.count(ctx)
	cancel()
	w.readLimits(time.Now())
	if err != nil {
		w.errs++
		return
	}
	w.samples++
	w.mostTotal, w.mostUnknown = max(w.mostTotal, total), max(w.mostUnknown, unknown)
	if total > w.budget {
		w.overTotal++
	}
	for i := range w.members {
		m := &w.members[i]
		m.most = max(m.most, counts[i])
		if allowed := m.allowed(at.Add(-grace)); counts[i] > allowed {
			m.over++
			if counts[i]-allowed > m.worst-m.worstLimit {
				m.worst, m.worstLimit = counts[i], allowed
			}
		}
	}
}

// readLimits reads every member's MaxConns.
func (w *memberWatch) readLimits(at time.Time) {
	for i, n := range w.nodes {
		m := &w.members[i]
		limit := n.Pool.Stats().MaxConns()
		m.limits = append(m.limits, reading{at, limit})
		m.low, m.high = min(m.low, limit), max(m.high, limit)
	}
}

// allowed is the highest limit read since since, or in force then (the
// last one read before); older readings are dropped: later counts look
// back less far.
func (m *watched) allowed(since time.Time) int {
	i := 0
	for i < len(m.limits)-1 && !m.limits[i+1].at.After(since) {
		i++
	}
	m.limits = append(m.limits[:0], m.limits[i:]...)
	most := 0
	for _, r := range m.limits {
		most = max(most, r.n)
	}
	return most
}

// wait waits until the watch's time is up.
func (w *memberWatch) wait() { <-w.done }

// end stops the watch and waits for it.
func (w *memberWatch) end() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// check ends the watch and asserts what it saw.
func (w *memberWatch) check(t *testing.T) {
	t.Helper()
	w.end()
	t.Logf("server: %d counts over %v, at most %d clients in all (budget %d), at most %d of no member",
		w.samples, w.took.Round(time.Millisecond), w.mostTotal, w.budget, w.mostUnknown)
	for i, m := range w.members {
		t.Logf("%s: limit %d to %d, at most %d clients, %d counts above the limit", memberName(i), m.low, m.high, m.most, m.over)
	}
	assert.Greater(t, w.samples, 100, "the watch saw the server (%d errors)", w.errs)
	assert.Zero(t, w.overTotal, "counts above the budget of %d (max %d)", w.budget, w.mostTotal)
	assert.Zero(t, w.mostUnknown, "clients of no member")
	for i, m := range w.members {
		assert.Zero(t, m.over, "%s: counts above its limit (worst: %d clients against %d)", memberName(i), m.worst, m.worstLimit)
	}
}
