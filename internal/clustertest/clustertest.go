// Package clustertest starts protoactor cluster members in one process,
// on loopback, over one in-memory membership agent: for the budget's
// tests, its bench and its churn run. It guards what protoactor does not:
// StartMember panics when it cannot listen, and a second Shutdown panics.
package clustertest

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/actorpool/actorpool/internal/pooltest"
)

// Options shape every member a Cluster starts.
type Options struct {
	// Kinds are the cluster kinds every member carries (budget.Kind).
	Kinds []*cluster.Kind
	// GossipInterval (default 50ms) and HeartbeatExpiration (default 3s)
	// are short, so that tests see changes within seconds; the heartbeat
	// leaves room for a busy machine, whose late gossip would otherwise
	// have live members block each other for good.
	GossipInterval, HeartbeatExpiration time.Duration
	// TTL is how long after a crash the membership forgets the member, as
	// a provider's TTL does (default 2 × HeartbeatExpiration; the in-memory provider has none
	// of its own, and members crashed and never forgotten pile up in it).
	TTL time.Duration
	// Logger receives protoactor's records (default: none).
	Logger *slog.Logger
}

// Cluster is the members started over one agent. Each test needs its own:
// a stopped member stays subscribed to its agent.
type Cluster struct {
	Agent *test.InMemAgent
	opts  Options
}

// New returns a cluster with no member yet.
func New(opts Options) *Cluster {
	if opts.GossipInterval == 0 {
		opts.GossipInterval = 50 * time.Millisecond
	}
	if opts.HeartbeatExpiration == 0 {
		opts.HeartbeatExpiration = 3 * time.Second
	}
	if opts.TTL == 0 {
		opts.TTL = 2 * opts.HeartbeatExpiration
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cluster{Agent: test.NewInMemAgent(), opts: opts}
}

// Member is one started member.
type Member struct {
	*cluster.Cluster
	of   *Cluster
	once sync.Once
}

// ID is the member's ID in the topology.
func (m *Member) ID() string { return m.ActorSystem.ID }

// Start starts one member on a free loopback port. It takes about a second
// (protoactor's StartMember sleeps).
func (c *Cluster) Start() (m *Member, err error) {
	logger := c.opts.Logger
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	rc := remote.Configure("127.0.0.1", 0)
	rc.MaxRetryCount = 1 // a survivor's Shutdown waits ~2 s per retry to a crashed peer
	cfg := cluster.Configure("actorpool-test", test.NewTestProvider(c.Agent), disthash.New(), rc,
		cluster.WithKinds(c.opts.Kinds...), cluster.WithHeartbeatExpiration(c.opts.HeartbeatExpiration))
	cfg.GossipInterval = c.opts.GossipInterval
	cl := cluster.New(sys, cfg)
	defer func() {
		if r := recover(); r != nil {
			sys.Shutdown()
			m, err = nil, fmt.Errorf("clustertest: StartMember: %v", r)
		}
	}()
	cl.StartMember()
	return &Member{Cluster: cl, of: c}, nil
}

// StartN starts n members at once (their start-up sleeps overlap).
func (c *Cluster) StartN(n int) ([]*Member, error) {
	ms := make([]*Member, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ms[i], errs[i] = c.Start() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, m := range ms {
				if m != nil {
					m.Leave()
				}
			}
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
	}
	return ms, nil
}

// Leave shuts the member down gracefully: it leaves the membership at once.
// It takes about 2 s (protoactor's Shutdown sleeps); later calls do nothing.
func (m *Member) Leave() { m.once.Do(func() { m.Shutdown(true) }) }

// Crash stops the member without a word to the others, as a killed process
// would: it stays in the membership until the gossip heartbeat blocks it
// and the provider's next update drops it (Refresh), or the provider
// forgets it after TTL. Later calls, and Leave after it, do nothing.
func (m *Member) Crash() {
	m.once.Do(func() {
		m.ActorSystem.Shutdown()
		m.Remote.Shutdown(false)
		id, agent := m.ID(), m.of.Agent
		time.AfterFunc(m.of.opts.TTL, func() { agent.DeregisterService(id) })
	})
}

// Refresh has every member re-read the membership, as a provider's
// periodic update does (the test provider has none of its own). Members
// the gossip heartbeat blocked are dropped then.
func (c *Cluster) Refresh() { c.Agent.ForceUpdate() }

// OwnGoroutines lists the goroutines running code of this module, other
// than the caller's and test helpers': what must not outlive the pools and
// members a test closed. protoactor's and grpc's own goroutines, some of
// which outlive Shutdown by up to a minute, are not listed.
func OwnGoroutines() []string {
	var own []string
	for i, g := range pooltest.Goroutines() {
		if i == 0 || !strings.Contains(g, "github.com/actorpool/actorpool/") {
			continue // the caller's own goroutine comes first
		}
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "/internal/testserver/") {
			continue
		}
		own = append(own, g)
	}
	return own
}
