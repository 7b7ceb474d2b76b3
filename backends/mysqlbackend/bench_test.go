package mysqlbackend_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

// BenchmarkReset measures what ending a lease costs the connection, by what
// the holder did, against the real server (loopback TCP):
//
//   - Clean: rows read and written only; NeedsReset says no, the pool skips
//     Reset.
//   - Transaction: the holder ran BEGIN itself; Reset sends one ROLLBACK.
//   - SessionState: the holder ran SET @x; Reset refuses and the pool
//     closes the session and dials a new one (the Close and Dial are timed,
//     with two init statements).
//   - SQLBaseline: for comparison only, what re-applying a fixed SQL
//     baseline on every lease would cost (ROLLBACK, RELEASE_ALL_LOCKS(),
//     USE db, three round trips), though it would still miss session
//     variables and temporary tables.
func BenchmarkReset(b *testing.B) {
	ctx := context.Background()
	be := mysqlbackend.New(mysqlbackend.Options{
		DSN:            srv.DSN(),
		InitStatements: []string{"SET time_zone = '+00:00'", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"},
	})
	c, err := be.Dial(ctx)
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close(c) })

	b.Run("Clean", func(b *testing.B) {
		_, err := c.ExecContext(ctx, "SELECT 1")
		require.NoError(b, err)
		b.ResetTimer()
		for b.Loop() {
			if be.NeedsReset(c) {
				b.Fatal("a clean lease needs a reset")
			}
		}
	})
	b.Run("Transaction", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			_, err := c.ExecContext(ctx, "BEGIN")
			require.NoError(b, err)
			b.StartTimer()
			if !be.NeedsReset(c) {
				b.Fatal("BEGIN needs a reset")
			}
			if err := be.Reset(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SessionState", func(b *testing.B) {
		conn, err := be.Dial(ctx)
		require.NoError(b, err)
		for b.Loop() {
			b.StopTimer()
			_, err := conn.ExecContext(ctx, "SET @x = 1")
			require.NoError(b, err)
			b.StartTimer()
			if err := be.Reset(ctx, conn); err == nil {
				b.Fatal("SET @x is refused")
			}
			_ = be.Close(conn)
			if conn, err = be.Dial(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = be.Close(conn)
	})
	b.Run("SQLBaseline", func(b *testing.B) {
		for b.Loop() {
			for _, q := range []string{"ROLLBACK", "SELECT RELEASE_ALL_LOCKS()", "USE " + srv.Database()} {
				if _, err := c.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
