package mysqlbackend

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// letGoWait bounds how long closing a session waits for the server to end
// it.
const letGoWait = time.Second

// socket wraps the net.Conn of one session, as the Backend's dial function
// (dialer) hands it to the driver. When the pool closes the session
// (Conn.close sets letGo), the driver sends COM_QUIT and then closes the
// socket; Close then half-closes it and reads until the server closes its
// side too, at most letGoWait. The server ends the session before it closes
// the socket: the transaction is rolled back, locks and temporary tables
// are gone, and the user's MAX_USER_CONNECTIONS count no longer includes
// it. So once Backend.Close returns, the pool's replacement never meets
// the old session on the server. (MariaDB removes the session's thread
// from the process list, and from the server-wide connection count, just
// after it closes the socket; for that moment the row shows Killed or
// Busy.)
//
// Any other close (the driver dropping a broken or cancelled session, on
// the holder's goroutine) closes at once. A lost socket returns at once
// anyway: the read fails.
type socket struct {
	net.Conn
	letGo atomic.Bool // set by Conn.close before the driver's Close
}

// sysSocket is a socket whose connection gives access to its file
// descriptor, which the driver's liveness check (CheckConnLiveness) reads.
type sysSocket struct {
	*socket
	sys syscall.Conn
}

func (s sysSocket) SyscallConn() (syscall.RawConn, error) { return s.sys.SyscallConn() }

// Close closes the socket, first waiting for the server's side when letGo
// is set.
func (s *socket) Close() error {
	if s.letGo.Load() {
		s.awaitServer()
	}
	return s.Conn.Close()
}

// awaitServer half-closes the socket and reads until the server closes its
// side (EOF), an error, or letGoWait. A connection without CloseWrite (a
// custom dial function's) is not waited for.
func (s *socket) awaitServer() {
	hc, ok := s.Conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return
	}
	if s.Conn.SetReadDeadline(time.Now().Add(letGoWait)) != nil {
		return
	}
	var buf [512]byte
	for {
		if _, err := s.Conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// socketKey is the context key under which Backend.Dial passes the dial
// function a **socket to fill in.
type socketKey struct{}

// dialer returns the mysql.Config.DialFunc of a Backend: it dials with
// next (the Config's own DialFunc, or a net.Dialer) and wraps the
// connection in a socket, which it also hands to Backend.Dial through the
// context. It turns TCP keepalive on, as the driver does for a
// *net.TCPConn it sees.
func dialer(next func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if next == nil {
		var d net.Dialer
		next = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetKeepAlive(true)
		}
		s := &socket{Conn: nc}
		if slot, ok := ctx.Value(socketKey{}).(**socket); ok {
			*slot = s
		}
		if sys, ok := nc.(syscall.Conn); ok {
			return sysSocket{socket: s, sys: sys}, nil
		}
		return s, nil
	}
}
