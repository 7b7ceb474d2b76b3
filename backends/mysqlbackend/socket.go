package mysqlbackend

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorpool/actorpool/internal/netx"
)

// letGoWait bounds how long closing a session waits for the server to end
// it.
const letGoWait = time.Second

// socket wraps the net.Conn of one session, as the Backend's dial function
// (dialer) hands it to the driver. The descriptor is closed only once the
// server has ended the session, at most letGoWait after the pool let it go:
// the server ends the session before it closes its side of the socket (the
// transaction is rolled back, locks and temporary tables are gone, and the
// user's MAX_USER_CONNECTIONS count no longer includes it). So once
// Backend.Close returns, the pool's replacement never meets the old session
// on the server. (MariaDB removes the session's thread from the process
// list, and from the server-wide connection count, just after it closes the
// socket; for that moment the row shows Killed or Busy.)
//
// Two closes lead there:
//
//   - The pool closes the session (Conn.close sets letGo): the driver sends
//     COM_QUIT and closes the socket; Close half-closes it and reads until
//     the server closes its side too (release).
//   - The driver drops a session a Conn holds (owned), on the holder's
//     goroutine: a cancelled statement, a broken read. Close then only
//     half-closes the socket, which tells the server the client is gone,
//     and ends any read in progress; the server ends the session once the
//     statement it runs is done. Conn.close, when the pool retires the
//     session, waits for that and closes the descriptor.
//
// A socket no Conn holds yet (a failed handshake) closes at once, and so
// does one without CloseWrite (a custom dial function's). A lost socket
// returns at once anyway: the read fails.
type socket struct {
	net.Conn
	letGo atomic.Bool // set by Conn.close before the driver's Close
	owned atomic.Bool // set once a Conn holds the session

	mu        sync.Mutex // orders drop and release
	releasing bool       // release has begun: drop leaves the socket to it

	once     sync.Once
	closeErr error
}

// sysSocket is a socket whose connection gives access to its file
// descriptor, which the driver's liveness check (CheckConnLiveness) reads.
type sysSocket struct {
	*socket
	sys syscall.Conn
}

func (s sysSocket) SyscallConn() (syscall.RawConn, error) { return s.sys.SyscallConn() }

// Close is the driver's close: it releases the socket, or only drops the
// session when a Conn holds it and has not let it go.
func (s *socket) Close() error {
	if s.owned.Load() && !s.letGo.Load() && s.drop() {
		return nil
	}
	return s.release()
}

// drop half-closes the socket and ends any read in progress, leaving the
// descriptor for release. It reports false when the socket cannot be
// half-closed; true, doing nothing, once release has begun.
func (s *socket) drop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.releasing {
		return true
	}
	hc, ok := s.Conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return false
	}
	_ = s.Conn.SetReadDeadline(time.Now())
	return true
}

// release closes the descriptor, once; when letGo is set, it first waits
// for the server's side (netx.AwaitPeerClose).
func (s *socket) release() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.releasing = true
		s.mu.Unlock()
		if s.letGo.Load() {
			netx.AwaitPeerClose(s.Conn, letGoWait)
		}
		s.closeErr = s.Conn.Close()
	})
	return s.closeErr
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
