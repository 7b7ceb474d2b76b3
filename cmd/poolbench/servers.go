package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// harnessTB lets the test harness redisserver run outside a test. It
// implements the four testing.TB methods redisserver calls (Helper,
// TempDir, Cleanup, Fatalf); the embedded nil TB only satisfies the
// interface, and any other method would panic. Fatalf panics with a
// harnessFailure, which tryHarness turns back into an error.
type harnessTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
}

type harnessFailure struct{ err error }

func (t *harnessTB) Helper() {}

func (t *harnessTB) Fatalf(format string, args ...any) {
	panic(harnessFailure{fmt.Errorf(format, args...)})
}

func (t *harnessTB) TempDir() string {
	dir, err := os.MkdirTemp("", "poolbench-redis")
	if err != nil {
		t.Fatalf("poolbench: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *harnessTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// cleanup runs the registered cleanups, last first, as testing does.
func (t *harnessTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// tryHarness runs f, turning a harness Fatalf into an error.
func tryHarness(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			hf, ok := r.(harnessFailure)
			if !ok {
				panic(r)
			}
			err = hf.err
		}
	}()
	f()
	return nil
}

// redisServer is a redis-server started by the redisserver harness.
type redisServer struct {
	tb  *harnessTB
	srv *redisserver.Server
}

func startRedis() (*redisServer, error) {
	s := &redisServer{tb: &harnessTB{}}
	err := tryHarness(func() { s.srv = redisserver.Start(s.tb) })
	if err != nil {
		s.tb.cleanup()
		return nil, err
	}
	return s, nil
}

func (s *redisServer) Addr() string { return s.srv.Addr() }

func (s *redisServer) Kill() error { return tryHarness(s.srv.Kill) }

func (s *redisServer) Restart() error { return tryHarness(s.srv.Restart) }

// Stop ends the server and removes its directory.
func (s *redisServer) Stop() { s.tb.cleanup() }

// servers holds the servers a run started; Stop ends them all. It is safe
// to call Stop from a signal handler's goroutine while the run goes on.
type servers struct {
	mu    sync.Mutex
	redis *redisServer
	maria *mariadbserver.Server
}

// start starts the servers the selected workloads need, in parallel.
func (s *servers) start(ctx context.Context, redis, maria bool) error {
	var wg sync.WaitGroup
	var rerr, merr error
	if redis {
		wg.Go(func() {
			r, err := startRedis()
			s.mu.Lock()
			s.redis, rerr = r, err
			s.mu.Unlock()
		})
	}
	if maria {
		wg.Go(func() {
			m, err := mariadbserver.Start(ctx)
			s.mu.Lock()
			s.maria, merr = m, err
			s.mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(rerr, merr)
}

func (s *servers) Stop() {
	s.mu.Lock()
	r, m := s.redis, s.maria
	s.redis, s.maria = nil, nil
	s.mu.Unlock()
	if r != nil {
		r.Stop()
	}
	if m != nil {
		_ = m.Stop()
	}
}
