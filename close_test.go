package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

// closeBound is how soon Close must return once the last lease is back:
// well inside the 10 s ctx it is given, so that a Close that only returns
// when its ctx ends fails the test.
const closeBound = 2 * time.Second

// TestCloseReturnsOnceTheLastLeaseComesBack closes fresh pools with one
// lease out and ends that lease while Close waits (or while Close starts),
// in every way a lease ends: released clean (lent again without a reset),
// released dirty (reset by its actor first), marked broken (closed by its
// actor, which crashes), and lost to a failed reset. Close must then
// return within closeBound, without an error, every time.
func TestCloseReturnsOnceTheLastLeaseComesBack(t *testing.T) {
	type lease = actorpool.Lease[*membackend.Conn]
	ends := []struct {
		name    string
		prepare func(*membackend.Backend)
		end     func(lease) error
	}{
		{"release", nil, func(l lease) error { return l.Release() }},
		{"release dirty", nil, func(l lease) error {
			if err := l.Conn().Do(); err != nil {
				return err
			}
			return l.Release()
		}},
		{"mark broken", nil, func(l lease) error { return l.MarkBroken(errors.New("test: broken")) }},
		{"failed reset", func(b *membackend.Backend) { b.FailResets(membackend.ErrBroken) }, func(l lease) error {
			if err := l.Conn().Do(); err != nil {
				return err
			}
			return l.Release()
		}},
	}
	const rounds = 20
	for _, e := range ends {
		for _, racing := range []bool{false, true} {
			name := e.name + "/while Close waits"
			if racing {
				name = e.name + "/as Close starts"
			}
			t.Run(name, func(t *testing.T) {
				for i := range rounds {
					t.Run(fmt.Sprint(i), func(t *testing.T) {
						var prep []func(*membackend.Backend)
						if e.prepare != nil {
							prep = append(prep, e.prepare)
						}
						f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 1}), prep...)
						l := f.acquire(t)
						var waiter <-chan error
						if !racing {
							// A waiter in line is failed when Close begins:
							// then Close is known to wait for l.
							waiter = f.acquireLater(context.Background())
							require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
						}
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						closed := make(chan error, 1)
						go func() { closed <- f.p.Close(ctx) }()
						if waiter != nil {
							require.ErrorIs(t, recv(t, waiter), actorpool.ErrPoolClosed)
						}
						require.NoError(t, e.end(l))
						select {
						case err := <-closed:
							require.NoError(t, err)
						case <-time.After(closeBound):
							t.Fatalf("Close still waits %s after the last lease came back: %+v", closeBound, f.p.Stats())
						}
					})
				}
			})
		}
	}
}
