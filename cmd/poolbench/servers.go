package main

import (
	"context"
	"errors"
	"sync"

	"github.com/actorpool/actorpool/internal/testserver"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// redisServer is a redis-server started by the redisserver harness.
type redisServer struct {
	srv  *redisserver.Server
	stop func()
}

func startRedis() (*redisServer, error) {
	srv, stop, err := redisserver.StartDetached("poolbench-redis")
	if err != nil {
		return nil, err
	}
	return &redisServer{srv: srv, stop: stop}, nil
}

func (s *redisServer) Addr() string { return s.srv.Addr() }

func (s *redisServer) Kill() error { return testserver.Try(s.srv.Kill) }

func (s *redisServer) Restart() error { return testserver.Try(s.srv.Restart) }

// Stop ends the server and removes its directory.
func (s *redisServer) Stop() { s.stop() }

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
