// Command actorservice shows an actor service that talks to Redis by
// message, with no goroutine of its own and without ever blocking a
// mailbox.
//
//	go run ./examples/actorservice
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./examples/actorservice
//
// Without REDIS_URL it starts an in-process Redis (miniredis). A hitCounter
// actor receives page hits; for each it sends an INCR by message
// (*redisbackend.Request to the command client's PID), tagged with the
// page, and goes on with its mailbox; the *redisbackend.Reply comes back,
// with the tag, from the connection actor that wrote the command in a
// batch with others. Asked for a report, it reads every page's count with
// one pipeline by message. A ledger actor stores the counts in MySQL and
// reads them back by message (request mode), on MYSQL_DSN or on a MariaDB
// it starts itself (mariadbd, which make test installs). A second actor
// leases a connection by message
// (*messages.Acquire) and stops without releasing it: the broker, which
// watches lease owners, reclaims the connection. The program prints what
// happens and exits.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/messages"
)

// hit asks the hitCounter to count one visit of page. Sender: main. No reply.
type hit struct{ page string }

// report asks the hitCounter for every page's count once every hit is
// counted. Sender: main, with RequestFuture. Reply: *summary.
type report struct{}

// summary answers *report.
type summary struct {
	counts          map[string]int64
	counted, failed int
}

// reportTag tags the pipeline that reads the counts.
type reportTag struct{}

// hitCounter counts page hits in Redis. Its fields are touched only by its
// Receive.
type hitCounter struct {
	redis   *actor.PID // where commands go by message (Commands.PID)
	pages   map[string]bool
	running int        // INCRs sent and not answered
	result  summary    // what is done
	asker   *actor.PID // who sent *report, answered once nothing is left
}

func (h *hitCounter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *hit:
		h.pages[msg.page] = true
		h.running++
		// ctx.Request makes this actor the sender: the reply comes back
		// to its mailbox, tagged with the page.
		ctx.Request(h.redis, &redisbackend.Request{Tag: msg.page, Timeout: time.Second,
			Cmds: []redis.Cmder{redis.NewIntCmd(context.Background(), "incr", "hits:"+msg.page)}})
	case *report:
		h.asker = ctx.Sender()
		h.reportWhenDone(ctx)
	case *redisbackend.Reply:
		if _, ok := msg.Tag.(reportTag); ok {
			h.answer(ctx, msg)
			return
		}
		h.running--
		if msg.Err != nil {
			fmt.Printf("  %-6s INCR failed: %v\n", msg.Tag, msg.Err)
			h.result.failed++
		} else {
			fmt.Printf("  %-6s now %d hits\n", msg.Tag, msg.Cmds[0].(*redis.IntCmd).Val())
			h.result.counted++
		}
		h.reportWhenDone(ctx)
	}
}

// reportWhenDone reads every page's count with one pipeline by message,
// once all hits are counted and a report was asked for.
func (h *hitCounter) reportWhenDone(ctx actor.Context) {
	if h.asker == nil || h.running > 0 {
		return
	}
	var cmds []redis.Cmder
	for _, page := range slices.Sorted(maps.Keys(h.pages)) {
		cmds = append(cmds, redis.NewStringCmd(context.Background(), "get", "hits:"+page))
	}
	ctx.Request(h.redis, &redisbackend.Request{Tag: reportTag{}, Cmds: cmds})
}

// answer sends the report, from the pipeline's reply.
func (h *hitCounter) answer(ctx actor.Context, msg *redisbackend.Reply) {
	h.result.counts = map[string]int64{}
	for _, cmd := range msg.Cmds {
		n, _ := cmd.(*redis.StringCmd).Int64()
		h.result.counts[cmd.Args()[1].(string)] = n
	}
	ctx.Send(h.asker, &h.result)
	h.asker = nil
}

// forgetful acquires a lease, then stops without releasing it.
type forgetful struct {
	broker *actor.PID
	done   chan<- struct{}
}

func (f *forgetful) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Request(f.broker, &messages.Acquire{})
	case *messages.Granted[*redisbackend.Conn]:
		fmt.Printf("forgetful actor got a lease on connection %d and stops without releasing it\n", msg.Lease.ID())
		ctx.Stop(ctx.Self())
	case *actor.Stopped:
		close(f.done)
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	backend, stopServer, err := newBackend()
	if err != nil {
		return err
	}
	defer stopServer()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	p, err := actorpool.New(sys, backend, actorpool.Config{MinConns: 1, MaxConns: 3, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := p.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		fmt.Println("pool closed")
	}()

	rc := redisbackend.NewCommands(p)
	counter := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &hitCounter{redis: rc.PID(), pages: map[string]bool{}}
	}))
	defer func() { _ = sys.Root.StopFuture(counter).Wait() }()

	pages := []string{"home", "about", "home", "blog", "home", "blog"}
	fmt.Printf("sending %d hits to the hitCounter actor; it sends INCR by message:\n", len(pages)*3)
	for range 3 {
		for _, page := range pages {
			sys.Root.Send(counter, &hit{page: page})
		}
	}
	res, err := sys.Root.RequestFuture(counter, &report{}, 10*time.Second).Result()
	if err != nil {
		return err
	}
	s := res.(*summary)
	fmt.Printf("hitCounter: %d hits counted, %d failed; read back with one pipeline: %v\n", s.counted, s.failed, s.counts)
	if err := recordInMySQL(sys, s.counts); err != nil {
		return err
	}

	done := make(chan struct{})
	sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &forgetful{broker: p.Broker(), done: done}
	}))
	<-done
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Reclaimed() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	fmt.Println("stats:", p.Stats())
	return nil
}

// newBackend dials REDIS_URL when it is set, and otherwise an in-process
// Redis that stopServer shuts down.
func newBackend() (backend *redisbackend.Backend, stopServer func(), err error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		b := redisbackend.NewFromURL(url)
		fmt.Println("pooling", b)
		return b, func() {}, b.Validate()
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	fmt.Println("REDIS_URL is not set: using an in-process Redis (miniredis) at", mr.Addr())
	return redisbackend.New(redisbackend.Options{Addr: mr.Addr()}), mr.Close, nil
}
