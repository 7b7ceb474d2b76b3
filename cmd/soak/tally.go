package main

// This file is what the soak counts and checks as it goes: operations and
// errors by kind, the leases out and the connection each holds, and the
// violations of the pool's invariants.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
)

// margin is how much later than its timeout plus the process's stall
// meanwhile an Acquire may return: the hand-offs between a timer, the
// broker and the caller that the stall meter, waking once a millisecond,
// does not see.
const margin = 20 * time.Millisecond

// tally is shared by every worker; its methods are safe for concurrent use.
type tally struct {
	acquired, ended atomic.Int64 // leases granted, and ended (once each)
	double          atomic.Int64 // a connection granted while a lease held it
	violations      atomic.Int64
	excused         atomic.Int64 // Acquires later than timeout + margin, within the stall meanwhile
	stalls          *stallMeter

	// recovery is when the current fault ended; a worker whose operation
	// started after it and succeeded stamps recovered (first one wins).
	faultEnd  [2]atomic.Int64 // unix ns, per target
	recovered [2]atomic.Int64

	mu      sync.Mutex
	held    map[any]string             // connection -> who holds it
	ops     map[string]int64           // successful operations by workload
	errs    map[string]int64           // failed operations by kind
	sample  map[string]string          // the first error of each kind
	first   []string                   // the first violations, for the report
	applied []string                   // faults applied, in order
	faults  map[string][]time.Duration // recovery times by fault

	mostLate   lateness // the latest past its timeout
	mostBeyond lateness // the latest past its timeout plus the stall meanwhile
}

// lateness is how late an Acquire came past its timeout, and how long the
// process was held up meanwhile.
type lateness struct {
	late, stalled time.Duration
	who           string
}

// beyond is how late it came beyond the stall.
func (l lateness) beyond() time.Duration { return l.late - l.stalled }

func (l lateness) String() string {
	if l.who == "" {
		return "none"
	}
	return fmt.Sprintf("%s, %s past its timeout, stalled %s", l.who, l.late.Round(time.Millisecond), l.stalled.Round(time.Millisecond))
}

func newTally() *tally {
	return &tally{stalls: newStallMeter(), held: map[any]string{}, ops: map[string]int64{}, errs: map[string]int64{}, sample: map[string]string{},
		faults: map[string][]time.Duration{}}
}

// violate records a broken invariant.
func (t *tally) violate(format string, args ...any) {
	t.violations.Add(1)
	t.mu.Lock()
	if len(t.first) < 20 {
		t.first = append(t.first, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
	t.mu.Unlock()
}

// take records that who holds conn under a new lease: a connection already
// held is a double grant.
func (t *tally) take(conn any, who string) {
	t.acquired.Add(1)
	t.mu.Lock()
	prev, dup := t.held[conn]
	t.held[conn] = who
	t.mu.Unlock()
	if dup {
		t.double.Add(1)
		t.violate("connection %p granted to %s while %s held it", conn, who, prev)
	}
}

// give records that the lease on conn ends now.
func (t *tally) give(conn any) {
	t.mu.Lock()
	delete(t.held, conn)
	t.mu.Unlock()
}

// ending checks the result of ending a lease (Release or MarkBroken): it
// ends once, by the holder or, revoked, by the pool.
func (t *tally) ending(err error, who string) {
	switch {
	case err == nil, errors.Is(err, actorpool.ErrLeaseRevoked):
		t.ended.Add(1)
	default:
		t.violate("%s: ending a held lease: %v", who, err)
	}
}

// now is the moment an Acquire starts, for timed.
func (t *tally) now() moment { return t.stalls.now() }

// timed checks an Acquire that started at start with timeout, and
// returned now: every caller's, goroutine or actor, by one rule. It may
// come later than its timeout by as long as the process was held up
// meanwhile, plus margin. One later than timeout plus margin, within that,
// is counted apart (excused); one later still is a violation.
func (t *tally) timed(start moment, timeout time.Duration, who string) {
	end := t.now()
	l := lateness{late: end.at.Sub(start.at) - timeout, stalled: end.stalled - start.stalled, who: who}
	if l.late <= 0 {
		return
	}
	t.mu.Lock()
	if l.late > t.mostLate.late {
		t.mostLate = l
	}
	if l.beyond() > t.mostBeyond.beyond() {
		t.mostBeyond = l
	}
	t.mu.Unlock()
	switch {
	case l.late <= margin:
	case l.beyond() <= margin:
		t.excused.Add(1)
	default:
		t.violate("%s: Acquire returned after %s, timeout %s, while the process stalled %s",
			who, (timeout + l.late).Round(time.Millisecond), timeout, l.stalled.Round(time.Millisecond))
	}
}

// op counts one operation of workload on target, started at start.
func (t *tally) op(target int, workload string, start time.Time, err error) {
	t.mu.Lock()
	if err == nil {
		t.ops[workload]++
	} else {
		k := kindOf(err)
		t.errs[k]++
		if _, ok := t.sample[k]; !ok {
			t.sample[k] = err.Error()
		}
	}
	t.mu.Unlock()
	if err == nil && start.UnixNano() >= t.faultEnd[target].Load() {
		t.recovered[target].CompareAndSwap(0, time.Now().UnixNano())
	}
}

// totalOps is every operation counted, failed or not.
func (t *tally) totalOps() (n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range t.ops {
		n += v
	}
	for _, v := range t.errs {
		n += v
	}
	return n
}

// kindOf names an error's kind for the table.
func kindOf(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, actorpool.ErrAcquireTimeout):
		return "acquire timeout"
	case errors.Is(err, actorpool.ErrBackendUnavailable):
		return "backend unavailable"
	case errors.Is(err, actorpool.ErrPoolClosed):
		return "pool closed"
	case errors.Is(err, actorpool.ErrLeaseRevoked):
		return "lease revoked"
	case errors.Is(err, actorpool.ErrTooManyWaiters):
		return "too many waiters"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "deadline"
	case errors.Is(err, errPanicked):
		return "holder panicked"
	case errors.Is(err, redis.Nil):
		return "redis nil"
	case errors.As(err, &ne), isConnError(err):
		return "network"
	}
	return "other"
}

// isConnError recognises the drivers' connection errors that are not
// net.Errors.
func isConnError(err error) bool {
	s := err.Error()
	for _, m := range []string{"EOF", "connection reset", "broken pipe", "invalid connection", "bad connection", "use of closed"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// errPanicked is what a holder that panicked inside With is counted as.
var errPanicked = errors.New("holder panicked inside With")

// sorted returns m's keys in order.
func sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
