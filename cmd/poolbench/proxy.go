package main

import (
	"net"
	"sync"
	"time"
)

// latencyProxy forwards TCP connections to target, delaying every chunk
// the client sends by delay (replies pass at once): each request reaches
// the server delay later, as over a longer network path. W7's slow
// endpoint sits behind one.
type latencyProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	mu    sync.Mutex
	conns []net.Conn // both ends of every forwarded connection
	wg    sync.WaitGroup
}

func startProxy(target string, delay time.Duration) (*latencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{ln: ln, target: target, delay: delay}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *latencyProxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every forwarded connection and waits for
// the proxy's goroutines.
func (p *latencyProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *latencyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.delayed(c, s) })
		p.wg.Go(func() { copyUntilError(s, c) })
	}
}

// chunk is bytes read from the client and when they are due at the server.
type chunk struct {
	b   []byte
	due time.Time
}

// delayed forwards from to to, each chunk delay after it was read, in
// order.
func (p *latencyProxy) delayed(from, to net.Conn) {
	chunks := make(chan chunk, 1024)
	p.wg.Go(func() {
		defer close(chunks)
		buf := make([]byte, 32<<10)
		for {
			n, err := from.Read(buf)
			if n > 0 {
				chunks <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.delay)}
			}
			if err != nil {
				return
			}
		}
	})
	for c := range chunks {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d) // the added latency itself
		}
		if _, err := to.Write(c.b); err != nil {
			_ = from.Close()
			for range chunks { // let the reader end
			}
			return
		}
	}
	_ = to.Close()
}

func copyUntilError(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = to.Close()
	_ = from.Close()
}
