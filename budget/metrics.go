package budget

// This file is the member's metrics: its Status as observable gauges,
// read at each collection, under the actorpool.budget. prefix and with
// the budget's name as an attribute.

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/actorpool/actorpool/budget"

// gauges are the instruments, each reading one field of Status.
var gauges = []struct {
	name, unit, desc string
	read             func(Status) int
}{
	{"actorpool.budget.limit", "{connection}", "The MaxConns the budget gave this member's pool.",
		func(s Status) int { return s.Limit }},
	{"actorpool.budget.share", "{connection}", "This member's share of the budget in its view; the limit stays below it until the others agree.",
		func(s Status) int { return s.Share }},
	{"actorpool.budget.claim", "{connection}", "What this member counts against the budget: its limit or its open connections, held while let-go ones may still be closing.",
		func(s Status) int { return s.Claim }},
	{"actorpool.budget.demand", "{connection}", "What this member asks for: its peak use, or the whole budget while its callers wait.",
		func(s Status) int { return s.Demand }},
	{"actorpool.budget.members", "{member}", "Members sharing the budget in this member's view.",
		func(s Status) int { return s.Members }},
	{"actorpool.budget.size", "{connection}", "The budget in force: the smallest any member was given.",
		func(s Status) int { return s.Budget }},
	{"actorpool.budget.agreed", "", "1 while every other member reports the same view and claims no more than its share, else 0.",
		func(s Status) int {
			if s.Agreed {
				return 1
			}
			return 0
		}},
}

// observe registers the gauges on mp, reading m's Status; the returned
// registration is unregistered when the member stops.
func (m *Member) observe(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter(instrumentationName)
	attrs := metric.WithAttributes(attribute.String("actorpool.budget.name", m.cfg.Name))
	insts := make([]metric.Int64ObservableGauge, len(gauges))
	observed := make([]metric.Observable, len(gauges))
	var errs []error
	for i, g := range gauges {
		inst, err := meter.Int64ObservableGauge(g.name, metric.WithUnit(g.unit), metric.WithDescription(g.desc))
		errs = append(errs, err)
		insts[i], observed[i] = inst, inst
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := m.Status()
		for i, g := range gauges {
			o.ObserveInt64(insts[i], int64(g.read(st)), attrs)
		}
		return nil
	}, observed...)
}
