package actors

// The pump serves a connection in command mode when the backend is a
// backends.Duplexer: its writer goroutine writes each batch as soon as the
// last one is written, while its reader goroutine reads the replies of the
// batches written before, in order. So a connection has several batches
// in flight, and no caller's work waits for a round trip it is not part
// of. The goroutines run only while command mode serves on the
// connection: the first poke of a session (its first command, or the
// dispatcher closing it) starts them, and they end once the session has
// ended and nothing waits, so a connection only ever leased has none. The connection
// actor owns the pump: it makes it with the connection's queue and stops
// it before it touches the connection again (bounce, close); the pump
// tells the actor when command mode ends on the connection or the
// connection breaks.

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
	n   int             // ops taken from the queue
	d   backends.Duplex // the halves it was sent on; nil when Split failed
	err error           // Send's (or Split's) error
}

// notWritten reports whether nothing of f was written: the connection
// would not split.
func (f *flight) notWritten() bool { return f.d == nil && f.err != nil }

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
	flights chan *flight // written, to the reader; nil: the reader returns
	free    chan *flight // read, back to the writer
	wg      sync.WaitGroup

	// mu orders starting the writer (launch) against its exit at the end
	// of a session and against stop. running is read without it by poke,
	// after poke's token is in wake; exit clears it before it looks there.
	mu      sync.Mutex
	running atomic.Bool

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
		flights: make(chan *flight, maxFlights+1), // and the nil that ends the reader
		free:    make(chan *flight, maxFlights),
	}
	for range maxFlights {
		p.free <- new(flight)
	}
	return p
}

// poke wakes the writer, and starts it when none runs. It blocks only
// while the last session's writer is on its way out, or behind stop or
// another poke's launch.
func (p *pump) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if !p.running.Load() {
		p.launch()
	}
}

// launch starts the writer (which runs the reader) unless it runs, the
// pump is stopping, or the connection broke.
func (p *pump) launch() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running.Load() || p.quitting() || p.failed.Load() {
		return
	}
	p.wg.Wait() // the last session's writer, past its exit
	p.running.Store(true)
	p.wg.Add(1)
	go p.runWriter()
}

// exit is the writer's at the end of a session: true when it may return,
// false when a poke came in meanwhile and it serves on. running is
// cleared before the wake channel is looked at: a poke whose token came
// too late to be seen here finds running false and launches a writer.
func (p *pump) exit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running.Store(false)
	if len(p.wake) > 0 {
		p.running.Store(true)
		return false
	}
	return true
}

// stop ends both goroutines once the batches in flight are answered. The
// actor calls it before it uses the connection or its queue itself.
func (p *pump) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.quitting() {
		p.mu.Unlock()
		return
	}
	close(p.quit)
	p.mu.Unlock()
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

// runWriter serves sessions, each with a reader of its own, until one
// ends with nothing waiting, the pump stops or the connection breaks.
func (p *pump) runWriter() {
	defer p.wg.Done()
	for {
		read := make(chan struct{})
		go p.runReader(read)
		ended := p.serve()
		p.flights <- nil // after every flight written: the reader answers them first
		<-read
		if !ended || p.exit() {
			return
		}
	}
}

// serve writes batches as the queue's pokes come, until the session ends
// (true), or the pump stops or the connection breaks (false).
func (p *pump) serve() bool {
	for {
		select {
		case <-p.wake:
		case <-p.quit:
			return false
		}
		if p.quitting() {
			return false
		}
		// Callers running now add their work before the batch is taken:
		// fewer, fuller writes for the same callers.
		runtime.Gosched()
		ended, ok := p.writeAll()
		if !ok || ended {
			return ok
		}
	}
}

// writeAll writes batches until the queue is empty, and ends the session
// when the queue was closed and nothing is in flight (ended). ok false
// means the writer stops: the connection broke, or the pump is stopping.
func (p *pump) writeAll() (ended, ok bool) {
	for !p.failed.Load() && !p.quitting() {
		var f *flight
		select {
		case f = <-p.free:
		case <-p.quit:
			return false, false
		}
		batch, _ := p.q.Take(p.batch[:0], p.maxOps, p.maxBytes)
		if len(batch) == 0 {
			p.free <- f
			switch {
			case p.q.Ending():
				return true, p.end()
			case p.q.Idle(): // a poke left over from the session that ended
				return true, true
			}
			return false, true
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
			return false, false
		}
	}
	return false, false
}

// send writes f's work, splitting the connection first when f is the
// session's first batch.
func (p *pump) send(f *flight) {
	if p.d == nil {
		var d backends.Duplex
		err := guard(func() (err error) { d, err = p.split(); return err })
		if err != nil {
			f.err = err
			return
		}
		p.d = d
	}
	f.d = p.d
	f.err = guard(func() error { return f.d.Send(f.work) })
	p.q.Wrote(len(f.work))
}

// end joins the session's halves and tells the actor that command mode
// ended on the connection; false when the halves would not join.
func (p *pump) end() bool {
	var err error
	if d := p.d; d != nil {
		p.d = nil
		err = guard(d.Join)
	}
	if err != nil {
		p.fail(err)
		return false
	}
	p.ended(p.q.Gen(), nil)
	return true
}

// runReader reads each flight's replies, in the order written, and
// answers its callers. After a failure, the flights still in the pipe are
// answered with the failure: their replies can no longer be read.
func (p *pump) runReader(done chan<- struct{}) {
	defer close(done)
	var failure error
	for f := <-p.flights; f != nil; f = <-p.flights {
		err := f.err
		switch {
		case f.notWritten():
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
		f.d, f.err = nil, nil
		p.free <- f
	}
}
