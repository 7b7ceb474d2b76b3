package backends

import "context"

// Role is what a server of a group of endpoints may be asked to do.
type Role int

const (
	// RoleUnknown: the role has not been read yet, or could not be.
	RoleUnknown Role = iota
	// RolePrimary takes reads and writes.
	RolePrimary
	// RoleReplica takes reads only.
	RoleReplica
)

// String is "unknown", "primary" or "replica".
func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	}
	return "unknown"
}

// RoleReader is implemented by backends that can ask a server for its role
// (Redis ROLE, MySQL @@read_only). A group of endpoints (package group)
// uses it to send writes to the primary and reads to replicas, and to
// follow a promotion or a demotion.
//
// Role is called by the group's role checker on a connection it leased
// from the endpoint's pool, never on a connection someone else holds. An
// error that IsFatal judges fatal marks the lease broken.
//
// IsReadOnly reports whether err, seen by a holder, is the server refusing
// a write because it is read-only (Redis READONLY, MySQL error 1290): the
// group then reads the roles again at once. Like IsFatal it decides from
// err alone and runs on any goroutine.
type RoleReader[C any] interface {
	Role(ctx context.Context, conn C) (Role, error)
	IsReadOnly(err error) bool
}
