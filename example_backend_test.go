package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// A backend tells the pool how to open, check, clean and close one kind of
// connection. This one pools sessions on a toy counter server that lives in
// memory; a real one wraps a client library (see backends/redisbackend).

var (
	// errSessionLost: the server restarted; the session is gone for good.
	errSessionLost = errors.New("counter: session lost")
	// errBadStep: a plain refusal from the server; the session is fine.
	errBadStep = errors.New("counter: step must be at least 1")
)

// counterServer is the server: one total shared by every session. Sessions
// opened before a restart are lost.
type counterServer struct {
	mu    sync.Mutex
	total int
	epoch int // bumped by restart
}

func (srv *counterServer) restart() {
	srv.mu.Lock()
	srv.epoch++
	srv.mu.Unlock()
}

// counterSession is one connection to the server. One goroutine at a time
// touches it: the holder of its lease, or the pool's connection actor that
// owns it.
type counterSession struct {
	srv    *counterServer
	id     int64
	epoch  int  // the server's epoch when dialled
	step   int  // session state a holder may change: what Incr adds
	closed bool // set by Close
}

// SetStep changes what Incr adds, for this session only.
func (s *counterSession) SetStep(n int) error {
	if err := s.check(); err != nil {
		return err
	}
	if n < 1 {
		return errBadStep
	}
	s.step = n
	return nil
}

// Incr adds the session's step to the total and returns the new total.
func (s *counterSession) Incr() (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.total += s.step
	return s.srv.total, nil
}

func (s *counterSession) check() error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.closed || s.epoch != s.srv.epoch {
		return errSessionLost
	}
	return nil
}

// counterBackend pools counterSessions. The pool calls it from many
// connection actors at once, one call at a time per session: the shared
// counter nextID is atomic, everything else belongs to one session.
type counterBackend struct {
	srv    *counterServer
	nextID atomic.Int64
}

var _ backends.Backend[*counterSession] = (*counterBackend)(nil)

// Dial opens a session with the default step.
func (b *counterBackend) Dial(ctx context.Context) (*counterSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.srv.mu.Lock()
	defer b.srv.mu.Unlock()
	return &counterSession{srv: b.srv, id: b.nextID.Add(1), epoch: b.srv.epoch, step: 1}, nil
}

// Ping fails when the session was lost.
func (b *counterBackend) Ping(_ context.Context, s *counterSession) error { return s.check() }

// Reset puts back the default step, so one holder's SetStep never reaches
// the next holder.
func (b *counterBackend) Reset(_ context.Context, s *counterSession) error {
	if err := s.check(); err != nil {
		return err
	}
	s.step = 1
	return nil
}

// Close ends the session.
func (b *counterBackend) Close(s *counterSession) error {
	s.srv.mu.Lock()
	s.closed = true
	s.srv.mu.Unlock()
	return nil
}

// IsFatal tells a lost session, which the pool must replace, from a plain
// refusal, after which the session stays usable.
func (b *counterBackend) IsFatal(err error) bool { return errors.Is(err, errSessionLost) }

func Example_customBackend() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	srv := &counterServer{}
	p, err := actorpool.New(sys, &counterBackend{srv: srv}, actorpool.Config{MaxConns: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())

	incr := func(s *counterSession) error {
		total, err := s.Incr()
		fmt.Printf("session %d: total %d\n", s.id, total)
		return err
	}
	// One holder changes its session's step; Reset undoes that before the
	// next holder gets the session.
	_ = p.With(context.Background(), func(s *counterSession) error {
		if err := s.SetStep(10); err != nil {
			return err
		}
		return incr(s)
	})
	_ = p.With(context.Background(), incr)

	// A refusal is not fatal: the session is kept.
	err = p.With(context.Background(), func(s *counterSession) error { return s.SetStep(0) })
	fmt.Println(err)
	_ = p.With(context.Background(), incr)

	// The server restarts while a holder uses its session. A lost session
	// is fatal: With marks the lease broken, and the pool closes the
	// session and dials a new one.
	err = p.With(context.Background(), func(s *counterSession) error {
		srv.restart()
		_, err := s.Incr()
		return err
	})
	fmt.Println(err)
	_ = p.With(context.Background(), incr)
	// Output:
	// session 1: total 10
	// session 1: total 11
	// counter: step must be at least 1
	// session 1: total 12
	// counter: session lost
	// session 2: total 13
}
