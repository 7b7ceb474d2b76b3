//go:build !race

// ExampleJoin runs a live cluster member: see site_test.go for why these
// examples run without -race.

package budget_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/budget"
)

func ExampleJoin() {
	discard := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))

	// One member of a cluster, on loopback, with protoactor's in-memory
	// provider (a deployment uses consul, etcd or Kubernetes). Every
	// member whose pool shares the budget "db" carries its kind.
	c := cluster.New(sys, cluster.Configure("example", test.NewTestProvider(test.NewInMemAgent()), disthash.New(),
		remote.Configure("127.0.0.1", 0), cluster.WithKinds(budget.Kind("db"))))
	c.StartMember() // takes about a second; panics when it cannot listen
	defer c.Shutdown(true)

	// MinConns 0: from Join on, the budget sets the pool's MaxConns.
	pool, err := actorpool.New(sys, membackend.New(), actorpool.Config{MinConns: 0, Logger: discard})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())
	m, err := budget.Join(c, pool, budget.Config{Name: "db", Budget: 4, Logger: discard})
	if err != nil {
		fmt.Println(err)
		return
	}

	// A lone member gets the whole budget, once it has watched its pool
	// for a Window (1s by default). Wait, within a bound, until it has.
	for deadline := time.Now().Add(5 * time.Second); m.Status().Limit < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	st := m.Status()
	fmt.Printf("limit %d of %d, members %d, agreed %v\n", st.Limit, st.Budget, st.Members, st.Agreed)
	fmt.Println("pool MaxConns:", pool.Stats().MaxConns())

	// Leave before Close: the pool's MaxConns goes to 0, and once its
	// connections are closed the others take over its share.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println("leave:", m.Leave(ctx))
	fmt.Println("pool MaxConns:", pool.Stats().MaxConns())
	// Output:
	// limit 4 of 4, members 1, agreed true
	// pool MaxConns: 4
	// leave: <nil>
	// pool MaxConns: 0
}

func ExampleKind() {
	// Every member whose pool joins the budget "db" carries its kind, next
	// to the member's own kinds. The membership then tells each member
	// which others share the budget; members without the kind are not
	// counted.
	cart := cluster.NewKind("cart", actor.PropsFromFunc(func(actor.Context) {}))
	cfg := cluster.Configure("shop", test.NewTestProvider(test.NewInMemAgent()), disthash.New(),
		remote.Configure("127.0.0.1", 0),
		cluster.WithKinds(cart, budget.Kind("db")))

	// The kinds the member announces once started (cluster.New, StartMember).
	fmt.Println(slices.Sorted(maps.Keys(cfg.Kinds)))
	// Output:
	// [actorpool/budget/db cart]
}
