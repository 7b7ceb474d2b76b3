package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/actorpool/actorpool/backends"
)

// workerConn is one connection to a worker.
type workerConn struct {
	c net.Conn
	r *bufio.Reader
}

// call sends one request line and reads the answer, within ctx's deadline.
func (w *workerConn) call(ctx context.Context, req string) (string, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	_ = w.c.SetDeadline(deadline)
	if _, err := fmt.Fprintln(w.c, req); err != nil {
		return "", err
	}
	line, err := w.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// Run has the worker do job id.
func (w *workerConn) Run(ctx context.Context, id int) error {
	got, err := w.call(ctx, fmt.Sprintf("job %d", id))
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("done %d", id); got != want {
		return fmt.Errorf("worker answered %q, want %q", got, want)
	}
	return nil
}

// workerBackend is the custom backend: it dials one worker.
type workerBackend struct {
	addr string
}

var _ backends.Backend[*workerConn] = workerBackend{}

func (b workerBackend) Dial(ctx context.Context) (*workerConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	return &workerConn{c: c, r: bufio.NewReader(c)}, nil
}

func (b workerBackend) Ping(ctx context.Context, w *workerConn) error {
	got, err := w.call(ctx, "ping")
	if err == nil && got != "pong" {
		err = fmt.Errorf("ping answered %q", got)
	}
	return err
}

// Reset has nothing to undo: a worker keeps no state per connection.
func (b workerBackend) Reset(context.Context, *workerConn) error { return nil }

func (b workerBackend) Close(w *workerConn) error { return w.c.Close() }

// IsFatal: a network error or a closed connection ends the connection.
func (b workerBackend) IsFatal(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}
