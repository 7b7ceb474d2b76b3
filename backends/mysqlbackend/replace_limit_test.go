package mysqlbackend_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

// A pool that replaces connections all the time never shows the server
// more sessions than MaxConns: a replacement is dialled only once the
// server has ended the session it replaces, whether the lease was marked
// broken or the connection reached its lifetime.
//
// Two counts are checked. The server itself refuses a session beyond the
// user's MAX_USER_CONNECTIONS, set to MaxConns here: no dial may fail. And
// the process list, sampled without pause, never lists more sessions the
// server still serves than MaxConns (see sessionsOnServer).
//
// The load runs for 2 s, and on until 40 connections were replaced (at
// most 20 s) when a busy machine slows it down.
func TestReplacementsNeverTakeTheServerAboveMaxConns(t *testing.T) {
	const maxConns, replacements = 4, 40
	limitUserSessions(t, maxConns)
	for _, tc := range []struct {
		name string
		cfg  actorpool.Config
		fail func(n int64) bool
	}{
		{"every third lease broken", actorpool.Config{MaxConns: maxConns}, func(n int64) bool { return n%3 == 0 }},
		{"short lifetime", actorpool.Config{MaxConns: maxConns, MaxLifetime: 20 * time.Millisecond}, func(int64) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dialErrs dialErrors
			tc.cfg.Logger = slog.New(&dialErrs)
			p, _ := newPool(t, tc.cfg)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			var n atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_ = p.With(ctx, func(c *mysqlbackend.Conn) error {
							if _, err := c.ExecContext(ctx, "DO 1"); err != nil {
								return err
							}
							if tc.fail(n.Add(1)) {
								return mysqlbackend.ErrSessionClosed // fatal: the lease is marked broken
							}
							return nil
						})
					}
				})
			}
			replaced := func() uint64 { st := p.Stats(); return st.Restarts() + st.RetiredLifetime() }
			start := time.Now()
			mostServed, mostListed, samples := 0, 0, 0
			for {
				since := time.Since(start)
				if since > 20*time.Second || since > 2*time.Second && replaced() >= replacements {
					break
				}
				if s, l, err := sessionsOnServer(); err == nil {
					samples++
					mostServed, mostListed = max(mostServed, s), max(mostListed, l)
				}
			}
			stop()
			wg.Wait()
			st := p.Stats()
			t.Logf("%d leases, %d connections replaced in %v, %d failed dials; %d samples: at most %d sessions served, %d listed",
				n.Load(), replaced(), time.Since(start).Round(time.Millisecond), st.DialErrors(), samples, mostServed, mostListed)
			assert.GreaterOrEqual(t, replaced(), uint64(replacements), "connections were replaced")
			assert.Zero(t, st.DialErrors(), "the server refused sessions beyond MaxConns: %v", dialErrs.list())
			assert.LessOrEqual(t, mostServed, maxConns, "the server served more sessions than MaxConns")
		})
	}
}

// limitUserSessions makes the server refuse the test user's sessions
// beyond n (MAX_USER_CONNECTIONS) until the test ends.
func limitUserSessions(t *testing.T, n int) {
	t.Helper()
	alter := func(n int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := srv.Admin().ExecContext(ctx,
			fmt.Sprintf("ALTER USER '%s'@'%%' WITH MAX_USER_CONNECTIONS %d", srv.User(), n))
		return err
	}
	require.NoError(t, alter(n))
	t.Cleanup(func() { assert.NoError(t, alter(0)) })
}

// sessionsOnServer returns how many sessions of the test user the process
// list shows, and how many of them the server still serves (see serving).
func sessionsOnServer() (served, listed int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := srv.Admin().QueryContext(ctx,
		"SELECT COMMAND FROM information_schema.PROCESSLIST WHERE USER = ?", srv.User())
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var command string
		if err := rows.Scan(&command); err != nil {
			return 0, 0, err
		}
		listed++
		if serving(command) {
			served++
		}
	}
	return served, listed, rows.Err()
}

// dialErrors is a slog.Handler that keeps the errors of the pool's
// "dial failed" log lines.
type dialErrors struct {
	mu   sync.Mutex
	errs []string
}

func (h *dialErrors) Enabled(context.Context, slog.Level) bool { return true }
func (h *dialErrors) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *dialErrors) WithGroup(string) slog.Handler            { return h }

func (h *dialErrors) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *dialErrors) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errs...)
}

// A holder whose context ends in the middle of a statement makes the driver
// drop the session. The replacement is dialled only once the server has
// ended the dropped session (it finishes the statement first), so a server
// that allows the user MaxConns sessions refuses none.
func TestAReplacementForACancelledStatementWaitsForTheServerToEndTheSession(t *testing.T) {
	limitUserSessions(t, 1)
	var dialErrs dialErrors
	p, _ := newPool(t, actorpool.Config{MaxConns: 1, Logger: slog.New(&dialErrs)})
	for range 3 {
		err := p.With(context.Background(), func(c *mysqlbackend.Conn) error {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := c.ExecContext(ctx, "DO SLEEP(0.2)")
			return err
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, p.With(context.Background(), func(c *mysqlbackend.Conn) error {
			_, err := c.ExecContext(context.Background(), "DO 1")
			return err
		}))
	}
	st := p.Stats()
	assert.GreaterOrEqual(t, st.Restarts(), uint64(3), "each dropped session was replaced")
	assert.Zero(t, st.DialErrors(), "the server refused a replacement: %v", dialErrs.list())
}
