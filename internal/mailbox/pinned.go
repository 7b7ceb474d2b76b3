// Package mailbox provides a protoactor mailbox that runs its actor on one
// dedicated goroutine for the actor's whole life.
//
// protoactor's default mailbox starts a new goroutine whenever an idle
// mailbox gets a message, and allocates a closure for it. For the broker,
// which gets two messages per lease, that is most of the cost of a lease.
// A Pinned mailbox keeps one goroutine parked on a channel instead: waking
// it costs one channel send and allocates nothing. The owner must call
// Shutdown once the actor has stopped, or the goroutine stays parked.
package mailbox

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Pinned is an unbounded mailbox served by one dedicated goroutine.
//
// queue, sys, parked and done are guarded by mu. suspended, invoker and the
// message being processed belong to the worker goroutine.
type Pinned struct {
	mu     sync.Mutex
	user   ring
	sys    ring
	parked bool
	done   bool
	wake   chan struct{} // buffered(1)

	invoker    actor.MessageInvoker
	throughput int
	suspended  bool
}

var _ actor.Mailbox = (*Pinned)(nil)

// NewPinned returns a mailbox that processes up to throughput messages
// before yielding the processor to other goroutines.
func NewPinned(throughput int) *Pinned {
	return &Pinned{wake: make(chan struct{}, 1), throughput: max(throughput, 1)}
}

// PostUserMessage implements actor.Mailbox.
func (m *Pinned) PostUserMessage(msg any) { m.post(&m.user, msg) }

// PostSystemMessage implements actor.Mailbox.
func (m *Pinned) PostSystemMessage(msg any) { m.post(&m.sys, msg) }

func (m *Pinned) post(q *ring, msg any) {
	m.mu.Lock()
	if m.done {
		m.mu.Unlock()
		return
	}
	q.push(msg)
	wake := m.parked
	m.parked = false
	m.mu.Unlock()
	if wake {
		m.wake <- struct{}{}
	}
}

// RegisterHandlers implements actor.Mailbox.
func (m *Pinned) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
}

// Start implements actor.Mailbox: it starts the worker goroutine.
func (m *Pinned) Start() { go m.work() }

// UserMessageCount implements actor.Mailbox.
func (m *Pinned) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}

// Shutdown ends the worker goroutine; later messages are dropped. Call it
// after the actor stopped.
func (m *Pinned) Shutdown() {
	m.mu.Lock()
	m.done = true
	wake := m.parked
	m.parked = false
	m.mu.Unlock()
	if wake {
		m.wake <- struct{}{}
	}
}

func (m *Pinned) work() {
	n := 0
	for {
		msg, system, ok := m.next()
		if !ok {
			return
		}
		m.invoke(msg, system)
		if n++; n >= m.throughput {
			n = 0
			runtime.Gosched()
		}
	}
}

// next returns the next message to process, parking while there is none.
// System messages come first; user messages wait while suspended.
func (m *Pinned) next() (msg any, system bool, ok bool) {
	for {
		m.mu.Lock()
		if m.done {
			m.mu.Unlock()
			return nil, false, false
		}
		if msg = m.sys.pop(); msg != nil {
			m.mu.Unlock()
			return msg, true, true
		}
		if !m.suspended {
			if msg = m.user.pop(); msg != nil {
				m.mu.Unlock()
				return msg, false, true
			}
		}
		m.parked = true
		m.mu.Unlock()
		<-m.wake
	}
}

// invoke runs one message; a panic becomes a failure for the supervisor,
// as in protoactor's own mailbox.
func (m *Pinned) invoke(msg any, system bool) {
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	if !system {
		m.invoker.InvokeUserMessage(msg)
		return
	}
	switch msg.(type) {
	case *actor.SuspendMailbox:
		m.suspended = true
	case *actor.ResumeMailbox:
		m.suspended = false
	default:
		m.invoker.InvokeSystemMessage(msg)
	}
}

// ring is a growable FIFO of messages.
type ring struct {
	buf        []any
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) push(v any) {
	if r.size == len(r.buf) {
		nb := make([]any, max(2*len(r.buf), 64))
		for i := range r.size {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}

func (r *ring) pop() any {
	if r.size == 0 {
		return nil
	}
	v := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return v
}
