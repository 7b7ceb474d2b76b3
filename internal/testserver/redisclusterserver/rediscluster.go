// Package redisclusterserver starts a Redis Cluster for tests and examples: its
// nodes are redisserver processes on loopback with cluster mode on, joined
// by redis-cli --cluster create. It also moves a slot between primaries
// the way an operator resharding a cluster does.
package redisclusterserver

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/internal/testserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// NodeTimeout is the cluster-node-timeout of every node: how long the
// others wait before they fail a silent primary over.
const NodeTimeout = time.Second

const (
	createTimeout = 60 * time.Second
	missingHint   = "run make test / scripts/test-deps.sh"
)

// Cluster is a running Redis Cluster.
type Cluster struct {
	t        testing.TB
	Nodes    []*redisserver.Server
	replicas int // per primary
}

// Start starts primaries primaries with replicas replicas each and returns
// once every node sees every slot served (cluster_state:ok). Everything
// stops when the test ends.
func Start(t testing.TB, primaries, replicas int) *Cluster {
	t.Helper()
	cli := testserver.RequireBinary(t, "redis-cli", missingHint)
	c := &Cluster{t: t}
	var addrs []string
	for range primaries * (1 + replicas) {
		s := redisserver.Start(t, redisserver.WithCluster(NodeTimeout))
		c.Nodes = append(c.Nodes, s)
		addrs = append(addrs, s.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redisclusterserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.AwaitOK(ctx); err != nil {
		t.Fatalf("redisclusterserver: %v", err)
	}
	c.replicas = replicas
	return c
}

// AwaitReplicas waits until every primary has its replicas, each in sync
// with it (master_link_status:up), so that a failover can promote one, and
// until every node's slot map lists them, so that a client reading the map
// from any node routes reads to them. Replicas take some seconds to get
// there after Start.
func (c *Cluster) AwaitReplicas(ctx context.Context) error {
	replicas := c.replicas
	return testserver.WaitUntil(ctx, 50*time.Millisecond, nil, func(ctx context.Context) error {
		var slots []redis.ClusterSlot
		for _, n := range c.Nodes {
			view, err := n.Observer().ClusterSlots(ctx).Result()
			if err != nil {
				return fmt.Errorf("slot map of %s: %w", n.Addr(), err)
			}
			for _, s := range view {
				if len(s.Nodes) != 1+replicas {
					return fmt.Errorf("%s: slots %d-%d: %d nodes, want %d", n.Addr(), s.Start, s.End, len(s.Nodes), 1+replicas)
				}
			}
			slots = view
		}
		for _, s := range slots {
			for _, r := range s.Nodes[1:] {
				info, err := c.Node(r.Addr).Observer().Info(ctx, "replication").Result()
				if err != nil {
					return err
				}
				if !strings.Contains(info, "master_link_status:up") {
					return fmt.Errorf("replica %s not in sync", r.Addr)
				}
			}
		}
		return nil
	})
}

// Seeds are the nodes' addresses, for a client's seed list.
func (c *Cluster) Seeds() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr())
	}
	return out
}

// Node returns the running node at addr, or nil.
func (c *Cluster) Node(addr string) *redisserver.Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// AwaitOK waits until every running node reports cluster_state:ok with all
// 16384 slots assigned, and all of them agree on which primary serves
// each slot.
func (c *Cluster) AwaitOK(ctx context.Context) error {
	return testserver.WaitUntil(ctx, 50*time.Millisecond, nil, func(ctx context.Context) error {
		var want string
		for _, n := range c.Nodes {
			info, err := n.Observer().ClusterInfo(ctx).Result()
			if err != nil {
				continue // a node that is down
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
				return fmt.Errorf("%s: cluster not ready:\n%s", n.Addr(), info)
			}
			owners, err := c.owners(ctx, n.Observer())
			if err != nil {
				return err
			}
			if want == "" {
				want = owners
			} else if owners != want {
				return fmt.Errorf("%s disagrees on the slots' owners", n.Addr())
			}
		}
		return nil
	})
}

// owners is the slot ranges and their primaries as client sees them.
func (c *Cluster) owners(ctx context.Context, client *redis.Client) (string, error) {
	slots, err := client.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range slots {
		fmt.Fprintf(&b, "%d-%d:%s;", s.Start, s.End, s.Nodes[0].Addr)
	}
	return b.String(), nil
}

// Owner is the address of the primary that serves key, as the first
// running node sees it.
func (c *Cluster) Owner(ctx context.Context, key string) (string, error) {
	n, err := c.anyNode(ctx)
	if err != nil {
		return "", err
	}
	slot, err := n.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	return c.SlotOwner(ctx, int(slot))
}

// SlotOwner is the address of the primary that serves slot.
func (c *Cluster) SlotOwner(ctx context.Context, slot int) (string, error) {
	slots, err := c.slots(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if slot >= s.Start && slot <= s.End {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("redisclusterserver: nobody serves slot %d", slot)
}

// Primaries are the addresses of the primaries that serve slots.
func (c *Cluster) Primaries(ctx context.Context) ([]string, error) {
	slots, err := c.slots(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range slots {
		if a := s.Nodes[0].Addr; !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// slots is CLUSTER SLOTS as the first running node answers it.
func (c *Cluster) slots(ctx context.Context) ([]redis.ClusterSlot, error) {
	n, err := c.anyNode(ctx)
	if err != nil {
		return nil, err
	}
	return n.ClusterSlots(ctx).Result()
}

func (c *Cluster) anyNode(ctx context.Context) (*redis.Client, error) {
	for _, n := range c.Nodes {
		if err := n.Observer().Ping(ctx).Err(); err == nil {
			return n.Observer(), nil
		}
	}
	return nil, fmt.Errorf("redisclusterserver: no node answers")
}

// nodeID is the cluster node ID of the node at addr.
func (c *Cluster) nodeID(ctx context.Context, addr string) (string, error) {
	n := c.Node(addr)
	if n == nil {
		return "", fmt.Errorf("redisclusterserver: no node %s", addr)
	}
	return n.Observer().ClusterMyID(ctx).Result()
}

// MoveSlot moves slot from its primary to the primary at to, keys and
// all, as redis-cli --cluster reshard does: the target imports, the source
// migrates, the keys are moved in batches with MIGRATE (clients asking the
// source for a moved key meanwhile are sent to the target with ASK), and
// then every primary is told the target owns the slot (clients are sent
// there with MOVED). It returns when all that is done.
func (c *Cluster) MoveSlot(ctx context.Context, slot int, to string) error {
	from, err := c.SlotOwner(ctx, slot)
	if err != nil {
		return err
	}
	if from == to {
		return nil
	}
	src, dst := c.Node(from), c.Node(to)
	if src == nil || dst == nil {
		return fmt.Errorf("redisclusterserver: no node %s or %s", from, to)
	}
	fromID, err := c.nodeID(ctx, from)
	if err != nil {
		return err
	}
	toID, err := c.nodeID(ctx, to)
	if err != nil {
		return err
	}
	if err := dst.Observer().Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err(); err != nil {
		return fmt.Errorf("redisclusterserver: IMPORTING: %w", err)
	}
	if err := src.Observer().Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID).Err(); err != nil {
		return fmt.Errorf("redisclusterserver: MIGRATING: %w", err)
	}
	host, port, _ := strings.Cut(to, ":")
	for {
		keys, err := src.Observer().ClusterGetKeysInSlot(ctx, slot, 100).Result()
		if err != nil {
			return fmt.Errorf("redisclusterserver: GETKEYSINSLOT: %w", err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "REPLACE", "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := src.Observer().Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("redisclusterserver: MIGRATE: %w", err)
		}
	}
	primaries, err := c.Primaries(ctx)
	if err != nil {
		return err
	}
	// The target first, then the source, then the others: as redis-cli does.
	order := []string{to, from}
	for _, p := range primaries {
		if p != to && p != from {
			order = append(order, p)
		}
	}
	for _, a := range order {
		if err := c.Node(a).Observer().Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err(); err != nil {
			return fmt.Errorf("redisclusterserver: SETSLOT NODE on %s: %w", a, err)
		}
	}
	return nil
}

// ReplicaOf is the address of a replica of the primary at primary.
func (c *Cluster) ReplicaOf(ctx context.Context, primary string) (string, error) {
	slots, err := c.slots(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if s.Nodes[0].Addr == primary && len(s.Nodes) > 1 {
			return s.Nodes[1].Addr, nil
		}
	}
	return "", fmt.Errorf("redisclusterserver: %s has no replica", primary)
}

// StartDetached starts a cluster outside a test (examples, commands) on a
// testserver.Harness named name; stop ends it and removes its
// directories.
func StartDetached(name string, primaries, replicas int) (c *Cluster, stop func(), err error) {
	h := testserver.NewHarness(name)
	if err := testserver.Try(func() { c = Start(h, primaries, replicas) }); err != nil {
		h.Close()
		return nil, nil, err
	}
	return c, h.Close, nil
}
