package w3_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/puddle/v2"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// BenchmarkAcquireRelease is workload W3: the cost of one Acquire+Release
// with a backend that does nothing, so only the pool is measured. Peers in
// the same run: puddle, database/sql's Conn on a do-nothing driver, and a
// buffered channel of connections. Pool=actorpool-metrics is actorpool with
// a MeterProvider (the OpenTelemetry SDK's, collected by nobody during the
// run). Run with -cpu 1,2 -benchmem.
func BenchmarkAcquireRelease(b *testing.B) {
	const conns = 10
	for _, callers := range []int{1, 64} {
		for _, pool := range []string{"actorpool", "actorpool-metrics"} {
			b.Run(fmt.Sprintf("Pool=%s/Conns=%d/Callers=%d", pool, conns, callers), func(b *testing.B) {
				cfg := actorpool.Config{MinConns: conns, MaxConns: conns}
				if pool == "actorpool-metrics" {
					mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
					b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
					cfg.MeterProvider = mp
				}
				p := newBenchPool(b, cfg)
				ctx := context.Background()
				pooltest.RunCallers(b, callers, func() {
					l, err := p.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					_ = l.Release()
				})
			})
		}
		b.Run(fmt.Sprintf("Pool=puddle/Conns=%d/Callers=%d", conns, callers), func(b *testing.B) {
			p, err := puddle.NewPool(&puddle.Config[*membackend.Conn]{
				Constructor: func(context.Context) (*membackend.Conn, error) { return &membackend.Conn{}, nil },
				Destructor:  func(*membackend.Conn) {},
				MaxSize:     conns,
			})
			require.NoError(b, err)
			defer p.Close()
			ctx := context.Background()
			pooltest.RunCallers(b, callers, func() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Release()
			})
		})
		b.Run(fmt.Sprintf("Pool=database-sql/Conns=%d/Callers=%d", conns, callers), func(b *testing.B) {
			db := sql.OpenDB(nopConnector{})
			db.SetMaxOpenConns(conns)
			db.SetMaxIdleConns(conns)
			defer db.Close()
			ctx := context.Background()
			pooltest.RunCallers(b, callers, func() {
				c, err := db.Conn(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				_ = c.Close()
			})
		})
		b.Run(fmt.Sprintf("Pool=channel/Conns=%d/Callers=%d", conns, callers), func(b *testing.B) {
			ch := make(chan *membackend.Conn, conns)
			for range conns {
				ch <- &membackend.Conn{}
			}
			pooltest.RunCallers(b, callers, func() {
				c := <-ch
				ch <- c
			})
		})
	}
}

func newBenchPool(b *testing.B, cfg actorpool.Config) *actorpool.Pool[*membackend.Conn] {
	b.Helper()
	conns := cfg.MaxConns
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, p.Close(context.Background())) })
	// Warm up: every connection dialled before the clock starts.
	ls := make([]actorpool.Lease[*membackend.Conn], conns)
	for i := range ls {
		ls[i], err = p.Acquire(context.Background())
		require.NoError(b, err)
	}
	for _, l := range ls {
		require.NoError(b, l.Release())
	}
	return p
}

// nopConnector is a database/sql driver whose connections do nothing.
type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nopConn{}, nil }
func (nopConnector) Driver() driver.Driver                        { return nopDriver{} }

type nopDriver struct{}

func (nopDriver) Open(string) (driver.Conn, error) { return nopConn{}, nil }

type nopConn struct{}

func (nopConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("nop") }
func (nopConn) Close() error                        { return nil }
func (nopConn) Begin() (driver.Tx, error)           { return nil, errors.New("nop") }
