package actorpool_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func ExampleConfig_meterProvider() {
	// Any OpenTelemetry MeterProvider will do; examples/metrics serves
	// one to Prometheus.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 4, Name: "example", MeterProvider: mp})
	defer p.Close(context.Background())
	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Release()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch m.Name {
		case "db.client.connection.max":
			fmt.Println(m.Name, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
		case "db.client.connection.count":
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				state, _ := dp.Attributes.Value("db.client.connection.state")
				if state.AsString() == "used" {
					fmt.Println(m.Name, "used", dp.Value)
				}
			}
		}
	}
	// Unordered output:
	// db.client.connection.count used 1
	// db.client.connection.max 4
}

func ExampleConfig_tracerProvider() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 1, TracerProvider: tp})
	defer p.Close(context.Background())
	if err := p.With(context.Background(), func(*membackend.Conn) error { return nil }); err != nil {
		fmt.Println(err)
		return
	}

	span := rec.Ended()[0]
	fmt.Println(span.Name())
	for _, kv := range span.Attributes() {
		if kv.Key == actorpool.AttrAcquireOutcome || kv.Key == "db.client.connection.pool.name" {
			fmt.Println(kv.Key, kv.Value.Emit())
		}
	}
	// Output:
	// actorpool.acquire
	// db.client.connection.pool.name mem
	// actorpool.acquire.outcome granted
}

func ExampleStats_CircuitOpen() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 1})
	defer p.Close(context.Background())
	fmt.Println("acquires fail fast:", p.Stats().CircuitOpen())
	// Output:
	// acquires fail fast: false
}
