// Package redissentinelserver starts a Redis deployment watched by
// Sentinel for tests: a primary, a replica and three sentinels (quorum
// 2), all on loopback, each a redisserver process.
package redissentinelserver

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/internal/testserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// Master is the name the sentinels know the primary by.
const Master = "mymaster"

// Deployment is the running servers.
type Deployment struct {
	Primary, Replica *redisserver.Server
	Sentinels        []*redisserver.Server
}

// Start starts the deployment and returns once every sentinel knows the
// replica and the other two sentinels, so that it can fail the primary
// over. Everything stops when the test ends.
func Start(t testing.TB) *Deployment {
	t.Helper()
	d := &Deployment{Primary: redisserver.Start(t)}
	d.Replica = redisserver.Start(t, redisserver.WithReplicaOf(d.Primary.Addr()))
	for range 3 {
		d.Sentinels = append(d.Sentinels, redisserver.Start(t, redisserver.WithSentinel(Master, d.Primary.Addr(), 2)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := testserver.WaitUntil(ctx, 50*time.Millisecond, nil, func(ctx context.Context) error {
		for _, s := range d.Sentinels {
			sc := d.sentinel(s)
			m, err := sc.Master(ctx, Master).Result()
			_ = sc.Close()
			if err != nil {
				return err
			}
			if m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel %s: %s replicas, %s other sentinels", s.Addr(), m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("redissentinelserver: %v", err)
	}
	return d
}

// SentinelAddrs are the sentinels' addresses.
func (d *Deployment) SentinelAddrs() []string {
	var out []string
	for _, s := range d.Sentinels {
		out = append(out, s.Addr())
	}
	return out
}

func (d *Deployment) sentinel(s *redisserver.Server) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DisableIdentity: true})
}

// PrimaryAddr is the primary's address as the first answering sentinel
// sees it.
func (d *Deployment) PrimaryAddr(ctx context.Context) (string, error) {
	var last error
	for _, s := range d.Sentinels {
		sc := d.sentinel(s)
		hp, err := sc.GetMasterAddrByName(ctx, Master).Result()
		_ = sc.Close()
		if err != nil {
			last = err
			continue
		}
		return net.JoinHostPort(hp[0], hp[1]), nil
	}
	return "", last
}

// Failover asks a running sentinel to fail the primary over now
// (SENTINEL FAILOVER), without waiting for the primary to be found down.
func (d *Deployment) Failover(ctx context.Context) error {
	var last error
	for _, s := range d.Sentinels {
		sc := d.sentinel(s)
		err := sc.Failover(ctx, Master).Err()
		_ = sc.Close()
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}
