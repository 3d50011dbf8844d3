package exporter

import (
	"net"
	"sync"
	"sync/atomic"
)

// limitListener accepts at most max connections at once; Accept waits for
// one to close. (golang.org/x/net/netutil has the same; this one also
// counts, for the test.)
type limitListener struct {
	net.Listener
	slots  chan struct{}
	open   atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func newLimitListener(l net.Listener, max int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, max), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.open.Add(1)
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// openConns is how many accepted connections are open now.
func (l *limitListener) openConns() int { return int(l.open.Load()) }

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.slots
	})
	return err
}
