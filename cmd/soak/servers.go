package main

// This file starts the real servers the soak runs against, with the test
// harnesses (internal/testserver), and reads how many connections each
// sees.

import (
	"context"
	"errors"
	"strings"
	"sync"

	"go.uber.org/goleak"

	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// servers are the redis-server and mariadbd of one run.
type servers struct {
	stopRedis func()
	redis     *redisserver.Server
	maria     *mariadbserver.Server
}

// startServers starts both servers at once.
func startServers(ctx context.Context) (*servers, error) {
	s := &servers{}
	var wg sync.WaitGroup
	var rerr, merr error
	wg.Go(func() { s.redis, s.stopRedis, rerr = redisserver.StartDetached("soak-redis") })
	wg.Go(func() { s.maria, merr = mariadbserver.Start(ctx) })
	wg.Wait()
	if err := errors.Join(rerr, merr); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends both servers (resumed first, should one be paused).
func (s *servers) stop() {
	if s.redis != nil {
		_ = s.redis.Resume()
		s.stopRedis()
	}
	if s.maria != nil {
		_ = s.maria.Resume()
		_ = s.maria.Stop()
	}
}

// redisClients counts the server's clients whose name starts with
// soakName: the pools' connections, not the observer.
func (s *servers) redisClients(ctx context.Context) (int, error) {
	cs, err := s.redis.Clients(ctx)
	n := 0
	for _, c := range cs {
		if strings.HasPrefix(c.Name, soakName) {
			n++
		}
	}
	return n, err
}

// soakName prefixes the client name of every Redis connection the soak's
// pools open.
const soakName = "soak-"

// harnessGoroutines are goroutines that are not the pools': those the
// server harnesses start when a fault restarts a server (they wait for the
// process), and toxiproxy's per-connection links (a link whose toxic was
// removed mid-write can stay blocked until its proxy stops, and a proxy's
// own shutdown goroutines finish a moment after Stop returns).
func harnessGoroutines() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).write"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).RemoveToxic.func1"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).freeBlocker"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).server"),
		redisserver.Waiters(),
		mariadbserver.Waiters(),
		goleak.IgnoreAnyFunction("os/exec.(*Cmd).Start.func2"),
	}
}
