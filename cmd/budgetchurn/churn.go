package main

// This file runs the members: it starts them, applies the schedule's
// events one after the other, watches after each how long the members
// take to settle, and takes them all down at the end.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
)

const (
	// hold is how long a worker keeps each lease after using it.
	hold = 2 * time.Millisecond
	// sampleEvery is how often the server's connections are counted.
	sampleEvery = 2 * time.Millisecond
	// refreshEvery is how often the membership provider updates, as a
	// real provider's periodic update would.
	refreshEvery = 100 * time.Millisecond
	// drainWithin is how long the server may take to see no connection
	// once every member has left.
	drainWithin = 10 * time.Second
)

// member is one member of the run, from its join to the end.
type member[C any] struct {
	name  string // "m1", "m2", … in the order they joined
	node  *clustertest.Node[C]
	state string // "live", "left" or "crashed"
	load  string // "idle", "busy N" or "quiet"
}

// event is one line of the run.
type event struct {
	what    string        // a kind, or "start"
	detail  string        // the member, and its new load
	at      time.Duration // when it began, since the run began
	took    time.Duration // how long the action itself took
	members int           // live members after it
	settled time.Duration // since it began; -1: not settled by the next
	// first is when the members were first settled after it, since it
	// began (-1: never); relapses is how often they were unsettled again
	// after that, with no event between.
	first    time.Duration
	relapses int
}

// churner is one run. Its fields are owned by the goroutine that runs the
// events, except those under mu, which the sampler's goroutine reads.
type churner[C any] struct {
	cfg   config
	out   io.Writer
	t     *target[C]
	site  *clustertest.Site[C]
	sched *schedule
	began time.Time
	made  int // backends made so far: names the members

	events   []event
	failures []string
	leaving  sync.WaitGroup // the members leaving the cluster

	mu      sync.Mutex
	members []*member[C]
	last    event // what and when of the last event begun
	over    overBudget
}

// churn runs the members on t for cfg.duration and writes the events, the
// summary and the last line to out.
func churn[C any](cfg config, out io.Writer, t *target[C]) (result, error) {
	c := &churner[C]{cfg: cfg, out: out, t: t, sched: newSchedule(cfg.seed, cfg.budget)}
	c.site = clustertest.NewSite(budget.Config{Name: "churn", Budget: cfg.budget}, c.backend, t.use)
	fmt.Fprintf(out, "budgetchurn: %s, budget %d, %s, seed %d\n\n", t.name, cfg.budget, cfg.duration, cfg.seed)

	c.began = time.Now()
	deadline := c.began.Add(cfg.duration)
	sampler := clustertest.Sample(cfg.budget, sampleEvery, c.count)
	stopRefresh := c.refresh()
	ev := c.begin("start")
	first, err := c.start(startMembers)
	if err != nil {
		stopRefresh()
		sampler.Stop()
		return result{}, err
	}
	var loads []string
	for _, m := range first {
		c.setLoad(m, c.sched.load())
		loads = append(loads, m.name+" "+m.load)
	}
	c.describe(ev, strings.Join(loads, ", "))
	c.end(ev)
	for time.Now().Before(deadline) {
		c.apply(c.sched.next(c.live()))
	}

	c.leaving.Wait()
	if err := c.site.Close(); err != nil {
		c.fail("closing the site: %v", err)
	}
	stopRefresh()
	c.drained()
	samples, most, over := sampler.Stop()
	res := result{samples: samples, most: most, over: over, budget: cfg.budget, failures: c.failures}
	c.report(res)
	fmt.Fprintln(out, res)
	return res, nil
}

// backend makes the backend of the next member to start (Site.Start calls
// it once per member, in order).
func (c *churner[C]) backend() backends.Backend[C] {
	c.made++
	return c.t.backend(fmt.Sprintf("m%d", c.made))
}

// start starts n members and joins them to the budget, idle.
func (c *churner[C]) start(n int) ([]*member[C], error) {
	nodes, err := c.site.Start(n)
	if err != nil {
		return nil, err
	}
	ms := make([]*member[C], n)
	for i, nd := range nodes {
		ms[i] = &member[C]{name: fmt.Sprintf("m%d", c.made-n+1+i), node: nd, state: "live", load: "idle"}
	}
	c.mu.Lock()
	c.members = append(c.members, ms...)
	c.mu.Unlock()
	return ms, nil
}

// apply runs one event of kind k, then watches the members until the next
// event is due.
func (c *churner[C]) apply(k kind) {
	ev := c.begin(k.String())
	switch k {
	case join:
		if ms, err := c.start(1); err != nil {
			c.fail("join at %s: %v", ev.at.Round(time.Millisecond), err)
			c.describe(ev, "failed")
		} else {
			c.describe(ev, ms[0].name)
		}
	case leave:
		m := c.pickLive()
		c.describe(ev, m.name)
		c.setState(m, "left")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.node.LeaveBudget(ctx); err != nil {
			c.fail("%s leaving the budget at %s: %v", m.name, ev.at.Round(time.Millisecond), err)
		}
		cancel()
		c.leaving.Go(func() { _ = m.node.Leave() }) // the cluster: about 2 s
	case crash:
		m := c.pickLive()
		c.describe(ev, m.name)
		c.setState(m, "crashed")
		m.node.Crash()
	case demand:
		m := c.pickLive()
		c.describe(ev, m.name)
		c.setLoad(m, c.sched.load())
		c.describe(ev, m.name+" "+m.load)
	}
	c.end(ev)
}

// begin starts the record of an event.
func (c *churner[C]) begin(what string) *event {
	ev := &event{what: what, at: time.Since(c.began)}
	c.describe(ev, "")
	return ev
}

// describe sets what ev is about, for its line and for a sample above
// the budget taken meanwhile.
func (c *churner[C]) describe(ev *event, detail string) {
	ev.detail = detail
	c.mu.Lock()
	c.last = *ev
	c.mu.Unlock()
}

// end completes the record of ev once its action is done: it watches the
// members until the next event is due and prints ev. The last event is
// watched as long, past the run's duration.
func (c *churner[C]) end(ev *event) {
	began := c.began.Add(ev.at)
	ev.took = time.Since(began)
	ev.members = c.live()
	c.settle(ev, began, time.Now().Add(c.sched.gap()))
	c.events = append(c.events, *ev)
	settled := "not settled: " + c.unsettled()
	if ev.settled >= 0 {
		settled = "settled " + ms(ev.settled)
	}
	if ev.relapses > 0 {
		settled += fmt.Sprintf(" (first at %s, then unsettled again %d×)", ms(ev.first), ev.relapses)
	}
	fmt.Fprintf(c.out, "%8.3fs  %-6s  %-14s  members %d  took %-7s  %s\n",
		ev.at.Seconds(), ev.what, ev.detail, ev.members, ms(ev.took), settled)
}

// settle watches the members every 5 ms until until and records in ev
// how long after began they last became settled, having stayed so since
// (-1 if they were not settled at until), when they first were, and how
// often they were unsettled again in between.
func (c *churner[C]) settle(ev *event, began, until time.Time) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var since, first time.Time // since is zero while not settled
	for {
		now := time.Now()
		switch {
		case !c.site.Settled():
			if !since.IsZero() {
				ev.relapses++
			}
			since = time.Time{}
		case since.IsZero():
			since = now
			if first.IsZero() {
				first = now
			}
		}
		if !now.Before(until) {
			break
		}
		<-tick.C
	}
	ev.settled, ev.first = -1, -1
	if !since.IsZero() {
		ev.settled = since.Sub(began)
	}
	if !first.IsZero() {
		ev.first = first.Sub(began)
	}
}

// unsettled says which live members keep the site from being settled,
// and why.
func (c *churner[C]) unsettled() string {
	live := c.liveMembers()
	var why []string
	for _, m := range live {
		st := m.node.Share.Status()
		var w []string
		if st.Members != len(live) {
			w = append(w, fmt.Sprintf("sees %d members", st.Members)+blocks(m, live))
		}
		if !st.Agreed {
			w = append(w, "not agreed")
		}
		if st.Limit != st.Share {
			w = append(w, fmt.Sprintf("limit %d of share %d", st.Limit, st.Share))
		}
		if len(w) > 0 {
			why = append(why, m.name+" "+strings.Join(w, ", "))
		}
	}
	return strings.Join(why, "; ")
}

// blocks names the live members m's cluster member has blocked (it
// never unblocks one), if any: one it takes for crashed or left.
func blocks[C any](m *member[C], live []*member[C]) string {
	bl := m.node.Member.Remote.BlockList()
	var names []string
	for _, o := range live {
		if bl.IsBlocked(o.node.Member.ID()) {
			names = append(names, o.name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (blocks " + strings.Join(names, " ") + ")"
}

// setLoad gives m's pool workers (Busy), or none (Quiet) when workers < 0.
func (c *churner[C]) setLoad(m *member[C], workers int) {
	if workers < 0 {
		m.node.Quiet()
	} else {
		m.node.Busy(workers, hold)
	}
	load := "quiet"
	if workers >= 0 {
		load = fmt.Sprintf("busy %d", workers)
	}
	c.mu.Lock()
	m.load = load
	c.mu.Unlock()
}

func (c *churner[C]) setState(m *member[C], state string) {
	c.mu.Lock()
	m.state = state
	c.mu.Unlock()
}

// liveMembers returns the live members, in the order they joined.
func (c *churner[C]) liveMembers() []*member[C] {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []*member[C]
	for _, m := range c.members {
		if m.state == "live" {
			live = append(live, m)
		}
	}
	return live
}

// live returns how many members are live.
func (c *churner[C]) live() int { return len(c.liveMembers()) }

// pickLive returns one of the live members, as the schedule picks.
func (c *churner[C]) pickLive() *member[C] {
	live := c.liveMembers()
	return live[c.sched.pick(len(live))]
}

// refresh has the membership provider update every refreshEvery until
// the returned stop, so that crashed members are dropped.
func (c *churner[C]) refresh() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(refreshEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				c.site.Cluster.Refresh()
			}
		}
	}()
	return func() { close(quit); <-done }
}

// drained waits until the server sees no connection, every member gone.
func (c *churner[C]) drained() {
	ctx, cancel := context.WithTimeout(context.Background(), drainWithin)
	defer cancel()
	n := -1
	for ctx.Err() == nil {
		var err error
		if n, err = c.t.count(ctx); err == nil && n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.fail("the server still sees %d connections %s after every member left", n, drainWithin)
}

func (c *churner[C]) fail(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// ms rounds d to the millisecond for printing.
func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
