package netx

import (
	"net"
	"testing"
	"time"
)

// AwaitPeerClose returns when the peer closes its side after seeing the
// half-close, not before; and at the wait when the peer never does.
func TestAwaitPeerCloseWaitsForThePeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const hold = 100 * time.Millisecond
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 16)
				for { // until the client's half-close
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				time.Sleep(hold) // the server's work before it closes: what the client must wait for
				c.Close()
			}()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	AwaitPeerClose(c, 5*time.Second)
	if took := time.Since(start); took < hold || took > 4*time.Second {
		t.Fatalf("returned after %v; the peer closed after %v", took, hold)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c2, err := net.Dial("tcp", silent.Addr().String()) // accepted by the kernel, never closed by anyone
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	start = time.Now()
	AwaitPeerClose(c2, 50*time.Millisecond)
	if took := time.Since(start); took < 50*time.Millisecond || took > 4*time.Second {
		t.Fatalf("returned after %v with a peer that never closes; want the 50ms wait", took)
	}
}
