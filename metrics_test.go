package actorpool_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

// collected is one collection from a manual reader, by instrument name.
type collected map[string]metricdata.Metrics

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	c := collected{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			c[m.Name] = m
		}
	}
	return c
}

// int64Point returns the value of the int64 sum or gauge name at the point
// whose attributes include want; it fails the test when there is none.
func (c collected) int64Point(t *testing.T, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	var points []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	default:
		t.Fatalf("%s is a %T, not an int64 sum or gauge", name, m.Data)
	}
	for _, p := range points {
		if hasAll(p.Attributes, want) {
			return p.Value
		}
	}
	t.Fatalf("%s has no point with %v", name, want)
	return 0
}

// histogramCount returns how many values the histogram name recorded.
func (c collected) histogramCount(t *testing.T, name string) uint64 {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T, not a float64 histogram", name, m.Data)
	var n uint64
	for _, p := range h.DataPoints {
		n += p.Count
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

var (
	memPoolName = attribute.String("db.client.connection.pool.name", "mem")
	stateIdle   = attribute.String("db.client.connection.state", "idle")
	stateUsed   = attribute.String("db.client.connection.state", "used")
)

func newMetricsFixture(t *testing.T, cfg actorpool.Config, prepare ...func(*membackend.Backend)) (*fixture, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	cfg.MeterProvider = mp
	return newFixture(t, cfg, prepare...), r
}

func TestTheMetricsAgreeWithStats(t *testing.T) {
	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MinConns: 2, MaxConns: 4}))
	warm(t, f, 2)
	l := f.acquire(t)
	c, s := collect(t, r), f.p.Stats()

	assert.EqualValues(t, s.Idle(), c.int64Point(t, "db.client.connection.count", memPoolName, stateIdle))
	assert.EqualValues(t, s.Leased(), c.int64Point(t, "db.client.connection.count", memPoolName, stateUsed))
	assert.EqualValues(t, 1, s.Leased())
	assert.EqualValues(t, 4, c.int64Point(t, "db.client.connection.max", memPoolName))
	assert.EqualValues(t, 4, c.int64Point(t, "db.client.connection.idle.max", memPoolName))
	assert.EqualValues(t, 2, c.int64Point(t, "db.client.connection.idle.min", memPoolName))
	assert.EqualValues(t, 0, c.int64Point(t, "db.client.connection.pending_requests", memPoolName))
	assert.EqualValues(t, 0, c.int64Point(t, "db.client.connection.timeouts", memPoolName))
	assert.EqualValues(t, s.Dialing(), c.int64Point(t, "actorpool.connection.dialing", memPoolName))
	assert.EqualValues(t, 0, c.int64Point(t, "actorpool.circuit.open", memPoolName))
	assert.EqualValues(t, s.Acquired(), c.int64Point(t, "actorpool.acquire.granted", memPoolName))
	assert.EqualValues(t, s.Dials(), c.int64Point(t, "actorpool.connection.dials", memPoolName))
	for _, name := range []string{
		"actorpool.acquire.failed_fast", "actorpool.acquire.rejected", "actorpool.connection.dial_errors",
		"actorpool.connection.restarts", "actorpool.lease.broken", "actorpool.lease.revoked",
		"actorpool.lease.reclaimed", "actorpool.lease.leak_warnings", "actorpool.circuit.opens",
	} {
		assert.EqualValues(t, 0, c.int64Point(t, name, memPoolName), name)
	}
	// Three acquires waited (two to warm up); two were released.
	assert.EqualValues(t, 3, c.histogramCount(t, "db.client.connection.wait_time"))
	assert.EqualValues(t, 2, c.histogramCount(t, "db.client.connection.use_time"))
	assert.EqualValues(t, s.Dials(), c.histogramCount(t, "db.client.connection.create_time"))

	require.NoError(t, l.MarkBroken(errors.New("test")))
	require.Eventually(t, func() bool { return f.p.Stats().Restarts() == 1 }, eventually, time.Millisecond)
	c = collect(t, r)
	assert.EqualValues(t, 1, c.int64Point(t, "actorpool.lease.broken", memPoolName))
	assert.EqualValues(t, 1, c.int64Point(t, "actorpool.connection.restarts", memPoolName))
	assert.EqualValues(t, 3, c.histogramCount(t, "db.client.connection.use_time"))
}

func TestAnAcquireTimeoutIsCountedAndNotTimedAsAWait(t *testing.T) {
	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, AcquireTimeout: 20 * time.Millisecond}))
	l := f.acquire(t)
	_, err := f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
	c := collect(t, r)
	assert.EqualValues(t, 1, c.int64Point(t, "db.client.connection.timeouts", memPoolName))
	assert.EqualValues(t, 1, c.histogramCount(t, "db.client.connection.wait_time"))
	require.NoError(t, l.Release())
}

func TestTheCircuitAndFailedDialsShowInTheMetrics(t *testing.T) {
	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 2, BackoffMin: time.Millisecond}),
		func(b *membackend.Backend) { b.FailDials(nil) })
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	// The first acquire waits for the first dial, which fails and opens
	// the circuit: from then on acquires fail fast.
	require.Eventually(t, func() bool {
		_, err := f.p.Acquire(ctx)
		return errors.Is(err, actorpool.ErrBackendUnavailable)
	}, eventually, time.Millisecond)
	// The failed dial that opened the circuit is counted just after.
	require.Eventually(t, func() bool { return f.p.Stats().DialErrors() > 0 }, eventually, time.Millisecond)
	c, s := collect(t, r), f.p.Stats()
	assert.EqualValues(t, 1, c.int64Point(t, "actorpool.circuit.open", memPoolName))
	assert.True(t, s.CircuitOpen())
	assert.GreaterOrEqual(t, c.int64Point(t, "actorpool.acquire.failed_fast", memPoolName), int64(1))
	assert.GreaterOrEqual(t, c.int64Point(t, "actorpool.connection.dial_errors", memPoolName), int64(1))
	assert.GreaterOrEqual(t, c.int64Point(t, "actorpool.circuit.opens", memPoolName), int64(1))

	f.b.Heal()
	require.Eventually(t, func() bool { return !f.p.Stats().CircuitOpen() }, eventually, time.Millisecond)
	assert.EqualValues(t, 0, collect(t, r).int64Point(t, "actorpool.circuit.open", memPoolName))
}

func TestAClosedPoolReportsNoMetrics(t *testing.T) {
	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1}))
	require.Contains(t, collect(t, r), "db.client.connection.count")
	require.NoError(t, f.p.Close(context.Background()))
	for name := range collect(t, r) {
		assert.NotContains(t, []string{"db.client.connection.count", "actorpool.acquire.granted"}, name)
	}
}

func TestConfigNameNamesThePoolInTheMetrics(t *testing.T) {
	_, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 3, Name: "sessions"}))
	got := collect(t, r).int64Point(t, "db.client.connection.max",
		attribute.String("db.client.connection.pool.name", "sessions"))
	assert.EqualValues(t, 3, got)
}

func TestTheFastPathWithMetricsOnAllocatesNothing(t *testing.T) {
	f, _ := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 2}))
	requireNoAllocations(t, f)
}

func TestTheMetricsPageListsEveryMetricThePoolReports(t *testing.T) {
	raw, err := os.ReadFile("docs/metrics.md")
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.]+)`").FindAllStringSubmatch(string(raw), -1) {
		listed[m[1]] = true
	}

	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1}))
	require.NoError(t, f.acquire(t).Release())
	reported := map[string]bool{}
	for name := range collect(t, r) {
		reported[name] = true
	}
	assert.Equal(t, reported, listed)
}

// histogramPoint returns the count and sum the histogram name recorded.
func (c collected) histogramPoint(t *testing.T, name string) (uint64, time.Duration) {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T, not a float64 histogram", name, m.Data)
	require.Len(t, h.DataPoints, 1)
	p := h.DataPoints[0]
	return p.Count, time.Duration(p.Sum * float64(time.Second))
}

func TestAWaitIsTimedFromJoiningTheLineToTheGrantAndAUseFromTheGrantToTheEnd(t *testing.T) {
	f, r := newMetricsFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 1}))
	warm(t, f, 1)
	first := f.acquire(t) // lent at once: a wait of 0
	got := make(chan actorpool.Lease[*membackend.Conn], 1)
	go func() {
		l, err := f.p.Acquire(context.Background())
		assert.NoError(t, err)
		got <- l
	}()
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	const hold = 30 * time.Millisecond
	time.Sleep(hold) // the duration measured, not a synchronisation
	require.NoError(t, first.Release())
	second := recv(t, got)
	require.NoError(t, second.Release())

	c := collect(t, r)
	n, waited := c.histogramPoint(t, "db.client.connection.wait_time")
	assert.EqualValues(t, 3, n, "the warm-up's, the first's and the second's")
	assert.GreaterOrEqual(t, waited, hold, "the second waited for the first's release")
	assert.Less(t, waited, hold+5*time.Second)
	n, used := c.histogramPoint(t, "db.client.connection.use_time")
	assert.EqualValues(t, 3, n)
	assert.GreaterOrEqual(t, used, hold, "the first was held while the second waited")
	assert.Less(t, used, hold+5*time.Second)

	// Counted and not collected yet when the pool closes: the next
	// collection has it.
	third := f.acquire(t)
	require.NoError(t, third.Release())
	require.NoError(t, f.p.Close(context.Background()))
	c = collect(t, r)
	n, _ = c.histogramPoint(t, "db.client.connection.use_time")
	assert.EqualValues(t, 4, n)
}
