//go:build !linux || 386

package sfu

import (
	"fmt"
	"net"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// newMediaConn is the plain socket where raw system calls are not wired (see rawudp_linux.go; linux/386
// has no sendto or recvfrom system call of its own, only socketcall).
func newMediaConn(conn *net.UDPConn) net.PacketConn { return conn }

// newMediaNet is the plain network where raw system calls are not wired.
func newMediaNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("sfu: network interfaces: %w", err)
	}
	return n, nil
}
