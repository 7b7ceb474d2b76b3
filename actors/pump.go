package actors

// The pump serves a connection in command mode when the backend is a
// backends.Duplexer: its writer goroutine writes each batch as soon as the
// last one is written, while its reader goroutine reads the replies of the
// batches written before, in order. So a connection has several batches
// in flight, and no caller's work waits for a round trip it is not part
// of. The connection actor owns the pump: it starts it with the
// connection's queue and stops it before it touches the connection again
// (bounce, close); the pump tells the actor when command mode ends on the
// connection or the connection breaks.

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/cmdq"
)

// maxFlights bounds the batches in flight on one connection: past it the
// writer waits for the reader, and work queues up. Command mode on a
// Duplexer serves from one connection (DispatcherConfig.One), so that
// every caller's commands reach the server in the order sent.
const maxFlights = 16

// flight is one batch between its write and its replies.
type flight struct {
	batchBuf
	n          int             // ops taken from the queue
	d          backends.Duplex // the halves it was sent on
	err        error           // Send's (or Split's) error
	notWritten bool            // Split failed: nothing of it was written
}

type pump struct {
	q        *cmdq.Queue
	split    func() (backends.Duplex, error)
	ctx      context.Context
	set      *cmdq.Set
	maxOps   int
	maxBytes int
	// ended tells the connection actor that command mode ended on the
	// connection: err nil once the queue was closed, emptied and the halves
	// joined; else the connection broke (or would not split or join).
	ended func(gen uint64, err error)

	wake    chan struct{} // the queue's poke
	quit    chan struct{}
	flights chan *flight // written, to the reader
	free    chan *flight // read, back to the writer
	wg      sync.WaitGroup

	// The writer's: the halves of the command-mode session in progress
	// (nil between sessions) and the batch buffer.
	d     backends.Duplex
	batch []*cmdq.Op

	failed atomic.Bool // the connection broke: nothing more is written or read
	once   sync.Once
}

func newPump(ctx context.Context, set *cmdq.Set, maxOps, maxBytes int) *pump {
	p := &pump{
		ctx: ctx, set: set, maxOps: maxOps, maxBytes: maxBytes,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		flights: make(chan *flight, maxFlights),
		free:    make(chan *flight, maxFlights),
	}
	for range maxFlights {
		p.free <- new(flight)
	}
	return p
}

// poke wakes the writer; it never blocks.
func (p *pump) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pump) start() {
	p.wg.Add(2)
	go p.runWriter()
	go p.runReader()
}

// stop ends both goroutines once the batches in flight are answered. The
// actor calls it before it uses the connection or its queue itself.
func (p *pump) stop() {
	if p == nil || p.quitting() {
		return
	}
	close(p.quit)
	p.wg.Wait()
}

// quitting reports whether stop has begun.
func (p *pump) quitting() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

// fail records that the connection broke and tells the actor, once.
func (p *pump) fail(err error) {
	p.once.Do(func() {
		p.failed.Store(true)
		p.ended(p.q.Gen(), err)
	})
}

func (p *pump) runWriter() {
	defer p.wg.Done()
	defer close(p.flights)
	for {
		select {
		case <-p.wake:
		case <-p.quit:
			return
		}
		if p.quitting() {
			return
		}
		// Callers running now add their work before the batch is taken:
		// fewer, fuller writes for the same callers.
		runtime.Gosched()
		if !p.writeAll() {
			return
		}
	}
}

// writeAll writes batches until the queue is empty, and ends the session
// when the queue was closed and nothing is in flight. false means the
// writer stops: the connection broke, or the pump is stopping.
func (p *pump) writeAll() bool {
	for !p.failed.Load() && !p.quitting() {
		var f *flight
		select {
		case f = <-p.free:
		case <-p.quit:
			return false
		}
		batch, _ := p.q.Take(p.batch[:0], p.maxOps, p.maxBytes)
		if len(batch) == 0 {
			p.free <- f
			if p.q.Ending() {
				p.end()
			}
			return true
		}
		f.n = len(batch)
		f.claim(batch, p.set.Gone)
		clear(batch)
		p.batch = batch[:0]
		if len(f.work) > 0 {
			p.send(f)
		}
		err := f.err
		p.flights <- f // never blocks: f came from free; it is the reader's now
		if err != nil {
			p.fail(err)
			return false
		}
	}
	return false
}

// send writes f's work, splitting the connection first when f is the
// session's first batch.
func (p *pump) send(f *flight) {
	if p.d == nil {
		var d backends.Duplex
		err := guard(func() (err error) { d, err = p.split(); return err })
		if err != nil {
			f.err, f.notWritten = err, true
			return
		}
		p.d = d
	}
	f.d = p.d
	f.err = guard(func() error { return f.d.Send(f.work) })
	p.q.Wrote(len(f.work))
}

// end joins the session's halves and tells the actor that command mode
// ended on the connection.
func (p *pump) end() {
	var err error
	if d := p.d; d != nil {
		p.d = nil
		err = guard(d.Join)
	}
	if err != nil {
		p.fail(err)
		return
	}
	p.ended(p.q.Gen(), nil)
}

// runReader reads each flight's replies, in the order written, and
// answers its callers. After a failure, the flights still in the pipe are
// answered with the failure: their replies can no longer be read.
func (p *pump) runReader() {
	defer p.wg.Done()
	var failure error
	for f := range p.flights {
		err := f.err
		switch {
		case f.notWritten:
			err = cmdq.ErrNotWritten
		case err == nil && failure != nil:
			err = failure
		case err == nil && len(f.work) > 0:
			err = guard(func() error { return f.d.Receive(p.ctx, f.work) })
			if err != nil {
				failure = err
				p.fail(err)
			}
		}
		if failure == nil && f.err != nil {
			failure = f.err
		}
		p.q.Written(f.n)
		if panicked := f.finish(err); panicked != nil && failure == nil {
			failure = panicked
			p.fail(panicked)
		}
		f.d, f.err, f.notWritten = nil, nil, false
		p.free <- f
	}
}
