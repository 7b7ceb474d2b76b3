// Command actorservice shows an actor that leases Redis connections from
// the pool by message, without ever blocking its mailbox.
//
//	go run ./examples/actorservice
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./examples/actorservice
//
// Without REDIS_URL it starts an in-process Redis (miniredis). A hitCounter
// actor receives page hits; for each it sends *messages.Acquire to the pool's
// broker and goes on with its mailbox. The grant arrives later as a
// *messages.Granted message; the command runs on a goroutine that releases
// the lease and reports back by message. A second actor acquires a lease and
// stops without releasing it: the broker, which watches lease owners,
// reclaims the connection. The program prints what happens and exits.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/messages"
)

// hit asks the hitCounter to count one visit of page. Sender: main. No reply.
type hit struct{ page string }

// counted reports one finished INCR. Sender: the goroutine that ran it, to
// the hitCounter. No reply.
type counted struct {
	page  string
	conn  uint64 // the connection the lease was on (Lease.ID)
	total int64
	err   error
}

// report asks the hitCounter for its results once every hit is counted.
// Sender: main, with RequestFuture. Reply: *summary.
type report struct{}

// summary answers *report.
type summary struct {
	counted, failed int
}

// hitCounter counts page hits in Redis. Its fields are touched only by its
// Receive.
type hitCounter struct {
	broker  *actor.PID
	backend *redisbackend.Backend
	waiting []string   // pages whose lease has not been granted yet, in order
	running int        // INCRs on a goroutine, not yet counted
	result  summary    // what is done
	asker   *actor.PID // who sent *report, answered when nothing is left
}

func (h *hitCounter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *hit:
		h.handleHit(ctx, msg)
	case *messages.Granted[*redisbackend.Conn]:
		h.handleGranted(ctx, msg)
	case *messages.AcquireFailed:
		h.handleAcquireFailed(ctx, msg)
	case *counted:
		h.handleCounted(ctx, msg)
	case *report:
		h.asker = ctx.Sender()
		h.answerWhenDone(ctx)
	}
}

// handleHit asks the broker for a lease and returns at once. ctx.Request
// makes this actor the sender: the grant comes back to its mailbox, and the
// broker reclaims the lease should this actor stop while holding it.
func (h *hitCounter) handleHit(ctx actor.Context, msg *hit) {
	h.waiting = append(h.waiting, msg.page)
	ctx.Request(h.broker, &messages.Acquire{Timeout: 2 * time.Second})
}

// handleGranted runs the command off the mailbox: the goroutine uses the
// lease, ends it, and reports back.
func (h *hitCounter) handleGranted(ctx actor.Context, msg *messages.Granted[*redisbackend.Conn]) {
	page := h.waiting[0]
	h.waiting = h.waiting[1:]
	h.running++
	lease, self, root, backend := msg.Lease, ctx.Self(), ctx.ActorSystem().Root, h.backend
	go func() {
		opCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		total, err := lease.Conn().Incr(opCtx, "hits:"+page).Result()
		if err != nil && backend.IsFatal(err) {
			_ = lease.MarkBroken(err)
		} else {
			_ = lease.Release()
		}
		root.Send(self, &counted{page: page, conn: lease.ID(), total: total, err: err})
	}()
}

func (h *hitCounter) handleAcquireFailed(ctx actor.Context, msg *messages.AcquireFailed) {
	page := h.waiting[0]
	h.waiting = h.waiting[1:]
	fmt.Printf("  %-6s no lease: %v\n", page, msg.Err)
	h.result.failed++
	h.answerWhenDone(ctx)
}

func (h *hitCounter) handleCounted(ctx actor.Context, msg *counted) {
	h.running--
	if msg.err != nil {
		fmt.Printf("  %-6s INCR failed: %v\n", msg.page, msg.err)
		h.result.failed++
	} else {
		fmt.Printf("  %-6s %2d hits (on connection %d)\n", msg.page, msg.total, msg.conn)
		h.result.counted++
	}
	h.answerWhenDone(ctx)
}

func (h *hitCounter) answerWhenDone(ctx actor.Context) {
	if h.asker != nil && len(h.waiting) == 0 && h.running == 0 {
		ctx.Send(h.asker, &summary{counted: h.result.counted, failed: h.result.failed})
		h.asker = nil
	}
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

	counter := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &hitCounter{broker: p.Broker(), backend: backend}
	}))
	defer func() { _ = sys.Root.StopFuture(counter).Wait() }()

	pages := []string{"home", "about", "home", "blog", "home", "blog"}
	fmt.Printf("sending %d hits to the hitCounter actor; it leases by message:\n", len(pages)*3)
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
	fmt.Printf("hitCounter: %d hits counted, %d failed\n", s.counted, s.failed)

	done := make(chan struct{})
	sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &forgetful{broker: p.Broker(), done: done}
	}))
	<-done
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Reclaimed() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	st := p.Stats()
	fmt.Printf("stats: total %d, idle %d, leased %d, dialing %d, acquired %d, reclaimed %d\n",
		st.Total(), st.Idle(), st.Leased(), st.Dialing(), st.Acquired(), st.Reclaimed())
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
