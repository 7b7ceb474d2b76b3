// Package netx holds what the backends' socket wrappers share.
package netx

import (
	"net"
	"time"
)

// AwaitPeerClose half-closes c and reads until the peer closes its side
// (EOF), an error, or wait: a server that ends a session before it closes
// its socket has ended it when this returns. A connection without
// CloseWrite (a custom dial function's) is not waited for; a lost one
// returns at once, its read failing. It leaves c open.
func AwaitPeerClose(c net.Conn, wait time.Duration) {
	hc, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	_ = hc.CloseWrite() // fails only on a socket already lost (or already half-closed): the read ends it
	if c.SetReadDeadline(time.Now().Add(wait)) != nil {
		return
	}
	var buf [512]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}
