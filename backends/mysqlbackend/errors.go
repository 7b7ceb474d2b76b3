package mysqlbackend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/backends"
)

// Errors returned by this package, to be matched with errors.Is.
var (
	// ErrSessionDirty is returned by Reset when the holder left state on
	// the session that only a new session is sure to clear: a variable, a
	// temporary table, a user lock, another default database, or a result
	// set, statement or transaction still open. The pool replaces the
	// connection. The error says what was found.
	// It wraps backends.ErrReplace: an expected replacement, logged at Debug.
	ErrSessionDirty = fmt.Errorf("mysqlbackend: session state left by the holder: %w", backends.ErrReplace)

	// ErrSessionClosed is returned by Reset and Ping when the driver has
	// closed the session: its server went away, it was killed, or a query's
	// context ended while the query ran (the driver then drops the session).
	ErrSessionClosed = errors.New("mysqlbackend: session closed")

	// ErrRedial is returned when database/sql asks a Conn for a second
	// server session. A Conn never re-dials; the pool dials a new Conn.
	ErrRedial = errors.New("mysqlbackend: a connection never re-dials its session")

	// ErrAccessDenied is wrapped by a Dial error when the server refused
	// the user or the password (MySQL error 1045). The error also wraps
	// the driver's *mysql.MySQLError. It never contains the password.
	ErrAccessDenied = errors.New("mysqlbackend: access denied")

	// ErrTLS is wrapped by a Dial error when TLS could not be set up: the
	// server's certificate was not trusted (unknown CA, another host name,
	// expired), the handshake failed, or the server offers no TLS. The
	// error also wraps the cause (x509.UnknownAuthorityError,
	// x509.HostnameError, mysql.ErrNoTLS...), which its text names.
	ErrTLS = errors.New("mysqlbackend: TLS failed")
)

// isTLSError reports whether a dial failed setting up TLS.
func isTLSError(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		alert   tls.AlertError
		header  tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) ||
		errors.As(err, &invalid) || errors.As(err, &alert) || errors.As(err, &header) ||
		errors.Is(err, mysql.ErrNoTLS)
}

// Server error numbers after which a session is gone.
var fatalErrorNumbers = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections (at dial)
	1053: true, // ER_SERVER_SHUTDOWN: server shutdown in progress
	1080: true, // ER_FORCING_CLOSE: forcing close of thread
	1152: true, // ER_ABORTING_CONNECTION
	1158: true, // ER_NET_READ_ERROR
	1159: true, // ER_NET_READ_INTERRUPTED
	1160: true, // ER_NET_ERROR_ON_WRITE
	1161: true, // ER_NET_WRITE_INTERRUPTED
	1184: true, // ER_NEW_ABORTING_CONNECTION
	1927: true, // ER_CONNECTION_KILLED (MariaDB): KILL of this session
	2006: true, // CR_SERVER_GONE_ERROR (client code, relayed by proxies)
	2013: true, // CR_SERVER_LOST (client code, relayed by proxies)
	3169: true, // ER_SESSION_WAS_KILLED (MySQL 8)
	4031: true, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8): idle session dropped
}

// isFatal implements Backend.IsFatal.
//
// Fatal: the session is gone or its protocol state is lost (driver.ErrBadConn,
// mysql.ErrInvalidConn, sql.ErrConnDone, the driver's packet errors, io.EOF,
// network errors, and the server errors of fatalErrorNumbers). Not fatal: any
// other server error (duplicate key 1062, syntax 1064, deadlock 1213, lock
// wait timeout 1205, query interrupted 1317), sql.ErrNoRows, sql.ErrTxDone,
// and context errors (when a context ends during a query the driver drops
// the session, and Reset then refuses it with ErrSessionClosed).
func isFatal(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// context.DeadlineExceeded is a net.Error too: decide before As.
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fatalErrorNumbers[me.Number]
	}
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, mysql.ErrMalformPkt),
		errors.Is(err, mysql.ErrPktSync),
		errors.Is(err, mysql.ErrPktSyncMul),
		errors.Is(err, mysql.ErrBusyBuffer),
		errors.Is(err, ErrSessionClosed),
		errors.Is(err, ErrRedial),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNREFUSED):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
