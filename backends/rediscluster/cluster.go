package rediscluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/isnil"
	"github.com/actorpool/actorpool/internal/quiet"
)

// Config configures a Cluster.
type Config struct {
	// Seeds are "host:port" addresses of one or more of the cluster's
	// nodes; the rest are learnt from them.
	Seeds []string
	// Node is every node's connection options (Username, Password,
	// TLSConfig, timeouts, Hooks); its Addr is ignored: each pool dials
	// its own node.
	Node redisbackend.Options
	// Pool is every node's pool configuration: MaxConns and MinConns are
	// per node. Its Name is ignored: a pool is named after its node.
	Pool actorpool.Config
	// MaxRedirects bounds how many MOVED or ASK redirections one command
	// follows (default 3; -1: none).
	MaxRedirects int
	// RefreshEvery is how often the slot map is re-read while commands
	// are sent (default: go-redis's, 60s); a MOVED reply, and a node's
	// connection error, have it re-read at once.
	RefreshEvery time.Duration
	// ReadFromReplicas sends read-only commands (GET, HGETALL, ...; the
	// servers' COMMAND flags decide) to a replica of their slot, picked at
	// random, and to the primary when none is up; every connection then
	// sends READONLY when it opens. Replicas lag their primary: a read may
	// not see a write just made.
	// default: false (everything goes to primaries)
	ReadFromReplicas bool
}

// Cluster is a Redis Cluster's pools, one per node, and the routing
// between them.
type Cluster struct {
	cfg    Config
	sys    *actor.ActorSystem
	ownSys bool
	cc     *redis.ClusterClient

	refreshing atomic.Bool // a refresh goroutine runs
	refreshed  sync.WaitGroup

	mu       sync.Mutex
	nodes    map[string]*node        // by address
	byClient map[*redis.Client]*node // by the node client go-redis routes to
	closed   bool
}

type node struct {
	pool *actorpool.Pool[*redisbackend.Conn]
	cmds *redisbackend.Commands
}

// New starts a Cluster on sys and reads the slot map from the seeds: it
// fails when no seed answers (with the seeds' errors) or the
// configuration is invalid (an error wrapping actorpool.ErrInvalidConfig),
// and leaves nothing running then.
func New(ctx context.Context, sys *actor.ActorSystem, cfg Config) (*Cluster, error) {
	if isnil.Is(sys) {
		return nil, fmt.Errorf("%w: rediscluster.New needs an actor system (or use Open)", actorpool.ErrInvalidConfig)
	}
	return start(ctx, sys, false, cfg)
}

// Open is New on an actor system of the Cluster's own, which logs nothing
// and is shut down by Close: for a service that has no actor system.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	return start(ctx, quiet.System(), true, cfg)
}

func start(ctx context.Context, sys *actor.ActorSystem, own bool, cfg Config) (*Cluster, error) {
	c := &Cluster{cfg: cfg, sys: sys, ownSys: own, nodes: map[string]*node{}, byClient: map[*redis.Client]*node{}}
	fail := func(err error) (*Cluster, error) {
		_ = c.Close(context.Background())
		return nil, err
	}
	if len(cfg.Seeds) == 0 {
		return fail(fmt.Errorf("%w: rediscluster: no seed address", actorpool.ErrInvalidConfig))
	}
	// A first pool checks the pool configuration once, with the error
	// New gives; every other node's is the same.
	if _, err := c.pool(cfg.Seeds[0]); err != nil {
		return fail(err)
	}
	c.cc = redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      cfg.Seeds,
		NewClient:                  c.nodeClient,
		MaxRedirects:               cfg.MaxRedirects,
		ReadOnly:                   cfg.ReadFromReplicas,
		ClusterStateReloadInterval: cfg.RefreshEvery,
		DisableIdentity:            true,
		MaintNotificationsConfig:   &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	c.cc.AddHook(redirected{c})
	c.cc.ReloadState(ctx)
	if _, err := c.cc.ClusterSlots(ctx).Result(); err != nil {
		return fail(fmt.Errorf("rediscluster: read the slot map from %s: %w", strings.Join(cfg.Seeds, ", "), err))
	}
	return c, nil
}

// pool returns the pool of the node at addr, started on first use.
func (c *Cluster) pool(addr string) (*node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, actorpool.ErrPoolClosed
	}
	if n, ok := c.nodes[addr]; ok {
		return n, nil
	}
	opts := c.cfg.Node
	opts.Addr = addr
	opts.ReadOnly = opts.ReadOnly || c.cfg.ReadFromReplicas
	cfg := c.cfg.Pool
	cfg.Name = ""
	p, err := actorpool.New(c.sys, redisbackend.New(opts), cfg)
	if err != nil {
		return nil, err
	}
	n := &node{pool: p, cmds: redisbackend.NewCommands(p)}
	n.cmds.AddHook(nodeErr{c})
	c.nodes[addr] = n
	c.byClient[n.cmds.Client] = n
	return n, nil
}

// nodeClient is go-redis's client for the node at opt.Addr: that node's
// pool in command mode. A node whose pool cannot start (the Cluster is
// closed) gets a client whose every call fails with that error.
func (c *Cluster) nodeClient(opt *redis.Options) *redis.Client {
	n, err := c.pool(opt.Addr)
	if err != nil {
		return failing(err)
	}
	return n.cmds.Client
}

// failing is a client whose every command fails with err.
func failing(err error) *redis.Client {
	cl := redis.NewClient(&redis.Options{Addr: "rediscluster", DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	cl.AddHook(refuse{err})
	return cl
}

// Commands is the command-mode client of the whole cluster: go-redis's
// cluster client over the nodes' pools. Close the Cluster, not it.
func (c *Cluster) Commands() *redis.ClusterClient { return c.cc }

// AcquireFor leases a connection of the primary that serves key's slot
// (its hash tag's, when it has one). Errors are the pool's, or the
// routing's when no node serves the slot.
func (c *Cluster) AcquireFor(ctx context.Context, key string) (actorpool.Lease[*redisbackend.Conn], error) {
	n, err := c.owner(ctx, key)
	if err != nil {
		return actorpool.Lease[*redisbackend.Conn]{}, err
	}
	return n.pool.Acquire(ctx)
}

// WithKey leases a connection of the primary that serves key's slot, runs
// fn on it and gives it back, as Pool.With does.
func (c *Cluster) WithKey(ctx context.Context, key string, fn func(*redisbackend.Conn) error) error {
	n, err := c.owner(ctx, key)
	if err != nil {
		return err
	}
	return n.pool.With(ctx, fn)
}

// owner is the node of the primary that serves key's slot.
func (c *Cluster) owner(ctx context.Context, key string) (*node, error) {
	if c.isClosed() {
		return nil, actorpool.ErrPoolClosed
	}
	cl, err := c.cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("rediscluster: no node for key: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, actorpool.ErrPoolClosed
	}
	n, ok := c.byClient[cl]
	if !ok {
		return nil, fmt.Errorf("rediscluster: no pool for the node of key")
	}
	return n, nil
}

func (c *Cluster) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// refreshMin is the least time between two refreshes that errors ask for.
const refreshMin = 100 * time.Millisecond

// refresh reads the slot map again, on a goroutine of its own, unless one
// is at it: a node's connection failed, and its slots may be served by
// another node now. One refresh at a time, and at most one every
// refreshMin, however many callers fail.
func (c *Cluster) refresh() {
	if !c.refreshing.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.refreshing.Store(false)
		return
	}
	c.refreshed.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.refreshed.Done()
		defer c.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c.cc.ReloadState(ctx)
		cancel()
		time.Sleep(refreshMin)
	}()
}

// Close stops routing and closes every node's pool (each as Pool.Close:
// leases out are revoked once ctx ends), then the actor system when it is
// the Cluster's own. A second Close returns nil.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	nodes := c.nodes
	c.mu.Unlock()
	c.refreshed.Wait()
	var errs []error
	if c.cc != nil {
		errs = append(errs, c.cc.Close())
	}
	for _, n := range nodes {
		errs = append(errs, n.pool.Close(ctx))
	}
	if c.ownSys {
		c.sys.Shutdown()
	}
	return errors.Join(errs...)
}
