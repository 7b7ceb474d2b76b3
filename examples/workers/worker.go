package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// worker is one worker process of the coordinator's, as a small TCP server
// on loopback: for each line "job <id>" it works for cost, then answers
// "done <id>"; "ping" answers "pong".
type worker struct {
	name string
	cost time.Duration
	ln   net.Listener
	done atomic.Int64 // jobs finished

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startWorker(name string, cost time.Duration) (*worker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &worker{name: name, cost: cost, ln: ln, conns: map[net.Conn]struct{}{}}
	w.wg.Go(w.accept)
	return w, nil
}

func (w *worker) Addr() string { return w.ln.Addr().String() }

// Kill stops the worker at once: the listener and every connection close,
// as when its process dies.
func (w *worker) Kill() {
	_ = w.ln.Close()
	w.mu.Lock()
	for c := range w.conns {
		_ = c.Close()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *worker) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.mu.Lock()
		w.conns[c] = struct{}{}
		w.mu.Unlock()
		w.wg.Go(func() { w.serve(c) })
	}
}

func (w *worker) serve(c net.Conn) {
	defer func() {
		w.mu.Lock()
		delete(w.conns, c)
		w.mu.Unlock()
		_ = c.Close()
	}()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		reply := "pong"
		if id, ok := strings.CutPrefix(line, "job "); ok {
			time.Sleep(w.cost) // the work itself
			w.done.Add(1)
			reply = "done " + id
		} else if line != "ping" {
			reply = "error unknown request"
		}
		if _, err := fmt.Fprintln(c, reply); err != nil {
			return
		}
	}
}
