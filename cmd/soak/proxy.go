package main

// This file puts Shopify's toxiproxy, run in this process, between the
// pools and each server, and turns the schedule's toxics on and off.

import (
	"context"
	"fmt"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// proxies is one toxiproxy server with a proxy per upstream.
type proxies struct {
	api *toxiproxy.ApiServer
	all []*toxiproxy.Proxy
}

func newProxies() *proxies {
	return &proxies{api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// add starts a proxy to upstream on a free loopback port and returns it;
// its Listen is the address the pools dial.
func (ps *proxies) add(name, upstream string) (*toxiproxy.Proxy, error) {
	p := toxiproxy.NewProxy(ps.api, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("soak: proxy %s: %w", name, err)
	}
	ps.all = append(ps.all, p)
	return p, nil
}

// stop closes every proxy and the connections through it.
func (ps *proxies) stop() {
	for _, p := range ps.all {
		p.Stop()
	}
}

// toxic is one toxiproxy toxic as the schedule applies it: its type, the
// stream it acts on, and its attributes as JSON.
type toxic struct {
	kind, stream, attrs string
}

// toxics are the faults of a network the schedule applies, each for a
// while, to one proxy at a time.
var toxics = []toxic{
	{"latency", "downstream", `{"latency": 40, "jitter": 40}`},
	{"reset_peer", "upstream", `{"timeout": 50}`},
	{"timeout", "upstream", `{"timeout": 0}`}, // a black hole until removed
	{"slow_close", "downstream", `{"delay": 500}`},
	{"bandwidth", "downstream", `{"rate": 8}`}, // KB/s
	{"slicer", "downstream", `{"average_size": 4, "size_variation": 3, "delay": 200}`},
	{"limit_data", "downstream", `{"bytes": 300}`},
}

// apply adds t to p, named after its kind.
func apply(p *toxiproxy.Proxy, t toxic) error {
	body := fmt.Sprintf(`{"name": %q, "type": %q, "stream": %q, "toxicity": 1, "attributes": %s}`,
		t.kind, t.kind, t.stream, t.attrs)
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		return fmt.Errorf("soak: toxic %s on %s: %w", t.kind, p.Name, err)
	}
	return nil
}

// remove takes t off p.
func remove(p *toxiproxy.Proxy, t toxic) error {
	if err := p.Toxics.RemoveToxic(context.Background(), t.kind); err != nil {
		return fmt.Errorf("soak: remove toxic %s from %s: %w", t.kind, p.Name, err)
	}
	return nil
}
