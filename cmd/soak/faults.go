package main

// This file is the fault schedule: each toxic on each server's proxy,
// then a kill and restart and a SIGSTOP and SIGCONT of each server, in
// turn, for as long as the run lasts. After each fault ends it measures
// the recovery: the time until an operation that started after the end
// succeeds on that server.

import (
	"context"
	"fmt"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/actorpool/actorpool/internal/testserver"
)

// recoveryLimit: a pool that has not served anything this long after a
// fault ended has not recovered by itself (invariant 7).
const recoveryLimit = 10 * time.Second

// fault is one entry of the schedule.
type fault struct {
	name   string
	target int
	apply  func() error
	heal   func() error
}

// schedule lists the faults in the order they are applied: every kind on
// Redis then on MariaDB, before the next kind.
func schedule(srv *servers, proxy [2]*toxiproxy.Proxy) []fault {
	var fs []fault
	for _, tx := range toxics {
		for target := range 2 {
			fs = append(fs, fault{name: tx.kind, target: target,
				apply: func() error { return apply(proxy[target], tx) },
				heal:  func() error { return remove(proxy[target], tx) }})
		}
	}
	fs = append(fs,
		fault{name: "kill, restart", target: redisTarget,
			apply: func() error { return testserver.Try(srv.redis.Kill) },
			heal:  func() error { return testserver.Try(srv.redis.Restart) }},
		fault{name: "kill, restart", target: mariaTarget,
			apply: srv.maria.Kill,
			heal:  func() error { return srv.maria.Restart(context.Background()) }},
		fault{name: "SIGSTOP, SIGCONT", target: redisTarget, apply: srv.redis.Pause, heal: srv.redis.Resume},
		fault{name: "SIGSTOP, SIGCONT", target: mariaTarget, apply: srv.maria.Pause, heal: srv.maria.Resume},
	)
	return fs
}

// runFaults applies the schedule until end, each fault for hold, with
// hold/2 of calm after each recovery. It returns the first error from
// applying or healing a fault (the harness failed, not the pool).
func runFaults(t *tally, fs []fault, end time.Time, hold time.Duration) error {
	for i := 0; time.Now().Add(hold).Before(end); i++ {
		f := fs[i%len(fs)]
		label := f.name + " / " + targetNames[f.target]
		if err := f.apply(); err != nil {
			return fmt.Errorf("soak: apply %s: %w", label, err)
		}
		t.mu.Lock()
		t.applied = append(t.applied, label)
		t.mu.Unlock()
		time.Sleep(hold) // the fault stays on this long
		if err := f.heal(); err != nil {
			return fmt.Errorf("soak: heal %s: %w", label, err)
		}
		healed := time.Now()
		t.faultEnd[f.target].Store(healed.UnixNano())
		t.recovered[f.target].Store(0)
		rec, ok := recovery(t, f.target, healed)
		t.mu.Lock()
		if ok {
			t.faults[label] = append(t.faults[label], rec)
		}
		t.mu.Unlock()
		if !ok {
			t.violate("%s: nothing served within %s after the fault ended", label, recoveryLimit)
		}
		time.Sleep(hold / 2) // calm before the next fault
	}
	return nil
}

// recovery waits until an operation on target that started after healed
// succeeded, and returns how long after healed it did.
func recovery(t *tally, target int, healed time.Time) (time.Duration, bool) {
	deadline := healed.Add(recoveryLimit)
	for time.Now().Before(deadline) {
		if at := t.recovered[target].Load(); at != 0 {
			return time.Duration(at - healed.UnixNano()), true
		}
		time.Sleep(time.Millisecond)
	}
	return 0, false
}
