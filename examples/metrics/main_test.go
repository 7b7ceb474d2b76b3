package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

const eventually = 10 * time.Second

// families are the metric families the example must serve, as the
// OpenTelemetry Prometheus exporter names them: dots become underscores,
// seconds add _seconds, counters add _total.
var families = []string{
	"db_client_connection_count",
	"db_client_connection_idle_max",
	"db_client_connection_idle_min",
	"db_client_connection_max",
	"db_client_connection_pending_requests",
	"db_client_connection_timeouts_total",
	"db_client_connection_create_time_seconds",
	"db_client_connection_wait_time_seconds",
	"db_client_connection_use_time_seconds",
	"actorpool_connection_dialing",
	"actorpool_circuit_open",
	"actorpool_acquire_granted_total",
	"actorpool_acquire_failed_fast_total",
	"actorpool_acquire_rejected_total",
	"actorpool_connection_dials_total",
	"actorpool_connection_dial_errors_total",
	"actorpool_connection_restarts_total",
	"actorpool_lease_broken_total",
	"actorpool_lease_revoked_total",
	"actorpool_lease_reclaimed_total",
	"actorpool_lease_leak_warnings_total",
	"actorpool_circuit_opens_total",
}

// started is the example running in the background for one test.
type started struct {
	addr string
	pool *Pool
}

// start runs the example on a free loopback port until the test ends, and
// waits until it serves and has granted some leases.
func start(t *testing.T) started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan started, 1)
	done := make(chan error, 1)
	o := Options{Listen: "127.0.0.1:0", Callers: 4, Interval: time.Millisecond, Hold: time.Millisecond, MinConns: 1, MaxConns: 3}
	go func() {
		done <- Run(ctx, o, io.Discard, func(addr string, p *Pool) { ready <- started{addr, p} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(eventually):
			t.Error("Run did not return after its ctx ended")
		}
	})
	var s started
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(eventually):
		t.Fatal("Run did not serve in time")
	}
	require.Eventually(t, func() bool { return s.pool.Stats().Acquired() >= 50 }, eventually, time.Millisecond)
	return s
}

// scrape reads /metrics over HTTP.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	client := &http.Client{Timeout: eventually}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	got, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	return got
}

// value sums the family's samples (gauges, counters) whose labels include
// want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no family %s", name)
	var sum float64
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func TestTheScrapeHasEveryFamilyAndAgreesWithStats(t *testing.T) {
	verifyNoLeaks(t)
	s := start(t)
	// The registry holds one pool: no filter on its name is needed.
	before := s.pool.Stats()
	fams := scrape(t, s.addr)
	after := s.pool.Stats()
	for _, name := range families {
		assert.Contains(t, fams, name)
	}

	// Limits are exact.
	assert.EqualValues(t, 3, value(t, fams, "db_client_connection_max", nil))
	assert.EqualValues(t, 3, value(t, fams, "db_client_connection_idle_max", nil))
	assert.EqualValues(t, 1, value(t, fams, "db_client_connection_idle_min", nil))
	// Counts come from one snapshot: idle + used + dialing is within
	// MaxConns, and nobody is failed.
	idle := value(t, fams, "db_client_connection_count", map[string]string{"db_client_connection_state": "idle"})
	used := value(t, fams, "db_client_connection_count", map[string]string{"db_client_connection_state": "used"})
	dialing := value(t, fams, "actorpool_connection_dialing", nil)
	assert.LessOrEqual(t, idle+used+dialing, 3.0)
	assert.Positive(t, idle+used)
	assert.Zero(t, value(t, fams, "actorpool_circuit_open", nil))
	// Counters were read between the two Stats.
	between := func(name string, lo, hi uint64) {
		t.Helper()
		v := value(t, fams, name, nil)
		assert.GreaterOrEqual(t, v, float64(lo), name)
		assert.LessOrEqual(t, v, float64(hi), name)
	}
	between("actorpool_acquire_granted_total", before.Acquired(), after.Acquired())
	between("actorpool_connection_dials_total", before.Dials(), after.Dials())
	between("db_client_connection_timeouts_total", before.Timeouts(), after.Timeouts())
	between("actorpool_connection_restarts_total", before.Restarts(), after.Restarts())
	// Every granted acquire was timed; every dial too.
	between("db_client_connection_wait_time_seconds", 1, after.Acquired())
	between("db_client_connection_create_time_seconds", 1, after.Dials())
	assert.Equal(t, dto.MetricType_HISTOGRAM, fams["db_client_connection_wait_time_seconds"].GetType())
	assert.Equal(t, dto.MetricType_COUNTER, fams["db_client_connection_timeouts_total"].GetType())
}

func TestThePoolIsNamedAfterItsServerWithoutAPassword(t *testing.T) {
	verifyNoLeaks(t)
	s := start(t)
	fams := scrape(t, s.addr)
	require.Contains(t, fams, "db_client_connection_max")
	named := 0
	for _, m := range fams["db_client_connection_max"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "db_client_connection_pool_name" {
				named++
				assert.Regexp(t, `^redis://127\.0\.0\.1:\d+/0$`, l.GetValue())
			}
		}
	}
	assert.Equal(t, 1, named, "one pool, named once")
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

var (
	labelMatchers = regexp.MustCompile(`\{[^}]*\}`)
	groupings     = regexp.MustCompile(`\b(by|without)\s*\([^)]*\)`)
	labelValues   = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)`)
	poolMetric    = regexp.MustCompile(`\b(db_client_[a-zA-Z0-9_]+|actorpool_[a-zA-Z0-9_]+)\b`)
)

// queriedMetrics returns the metric names a PromQL expression reads,
// leaving out label names (in matchers, groupings and label_values).
func queriedMetrics(expr string) []string {
	expr = labelValues.ReplaceAllString(expr, "$1")
	expr = labelMatchers.ReplaceAllString(expr, "")
	expr = groupings.ReplaceAllString(expr, "")
	return poolMetric.FindAllString(expr, -1)
}

func TestEveryMetricTheDashboardQueriesIsInTheScrape(t *testing.T) {
	verifyNoLeaks(t)
	raw, err := os.ReadFile("../../docs/grafana/actorpool.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	require.NotEmpty(t, d.Panels)

	s := start(t)
	fams := scrape(t, s.addr)
	served := func(name string) bool {
		if _, ok := fams[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if f, ok := fams[base]; ok && f.GetType() == dto.MetricType_HISTOGRAM {
					return true
				}
			}
		}
		return false
	}
	queried := 0
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, target := range p.Targets {
			names := queriedMetrics(target.Expr)
			assert.NotEmpty(t, names, "panel %q queries no pool metric: %s", p.Title, target.Expr)
			for _, name := range names {
				queried++
				assert.True(t, served(name), "panel %q queries %s, which the example does not serve", p.Title, name)
			}
		}
	}
	for _, v := range d.Templating.List {
		for _, name := range queriedMetrics(v.Definition) {
			assert.True(t, served(name), "variable queries %s, which the example does not serve", name)
		}
	}
	assert.Greater(t, queried, 10)
}

func TestQueriedMetricsLeavesOutLabels(t *testing.T) {
	got := queriedMetrics(`histogram_quantile(0.99, sum by (le, db_client_connection_pool_name) ` +
		`(rate(db_client_connection_wait_time_seconds_bucket{db_client_connection_pool_name=~"$pool"}[5m])))`)
	assert.Equal(t, []string{"db_client_connection_wait_time_seconds_bucket"}, got)
	got = queriedMetrics(`label_values(db_client_connection_max, db_client_connection_pool_name)`)
	assert.Equal(t, []string{"db_client_connection_max"}, got)
}

// verifyNoLeaks checks, once the test and its cleanups (Run's end) are
// done, that no goroutine is left.
func verifyNoLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}
