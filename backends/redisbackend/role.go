package redisbackend

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/backends"
)

var _ backends.RoleReader[*Conn] = (*Backend)(nil)

// Role asks the server for its role with ROLE: "master" is
// backends.RolePrimary, "slave" backends.RoleReplica. Called by a group of
// endpoints (package group) on a connection it leased.
func (b *Backend) Role(ctx context.Context, conn *Conn) (backends.Role, error) {
	v, err := conn.Do(ctx, "ROLE").Slice()
	if err != nil {
		return backends.RoleUnknown, err
	}
	if len(v) == 0 {
		return backends.RoleUnknown, errors.New("redisbackend: ROLE answered nothing")
	}
	switch v[0] {
	case "master":
		return backends.RolePrimary, nil
	case "slave":
		return backends.RoleReplica, nil
	}
	return backends.RoleUnknown, fmt.Errorf("redisbackend: ROLE answered %v", v[0])
}

// IsReadOnly reports whether err is a replica refusing a write (a READONLY
// error reply).
func (b *Backend) IsReadOnly(err error) bool {
	return redis.IsReadOnlyError(err)
}
