package mysqlbackend

import (
	"context"
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/backends"
)

var _ backends.RoleReader[*Conn] = (*Backend)(nil)

// erOptionPreventsStatement is the server's error 1290, which it returns
// for a write while it runs with read_only.
const erOptionPreventsStatement = 1290

// Role reads @@global.read_only: on is backends.RoleReplica, off
// backends.RolePrimary. Called by a group of endpoints (package group) on
// a connection it leased. (A user with the SUPER or READ_ONLY ADMIN
// privilege may write to a read_only server all the same: give the
// application a user without them.)
func (b *Backend) Role(ctx context.Context, conn *Conn) (backends.Role, error) {
	var ro int
	if err := conn.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil {
		return backends.RoleUnknown, err
	}
	if ro != 0 {
		return backends.RoleReplica, nil
	}
	return backends.RolePrimary, nil
}

// IsReadOnly reports whether err is the server refusing a write because it
// runs with read_only (error 1290).
func (b *Backend) IsReadOnly(err error) bool {
	me, ok := errors.AsType[*mysql.MySQLError](err)
	return ok && me.Number == erOptionPreventsStatement
}
