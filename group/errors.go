package group

import (
	"context"
	"errors"
	"fmt"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// ErrUnknownEndpoint: no endpoint of the group has that name.
var ErrUnknownEndpoint = errors.New("actorpool: group: unknown endpoint")

var (
	errRoleNotKnown = errors.New("role not known")
	errFailingFast  = errors.New("failing fast")
	errNotPicked    = errors.New("became eligible after the pick")
)

// unavailable is the error of a request that no endpoint could serve. It
// wraps actorpool.ErrBackendUnavailable and joins one error per endpoint,
// each starting with the endpoint's name: errs, those of the endpoints in
// tried (the Acquire that failed on each), and, for every other endpoint
// of the group, why it could not serve (cannotServe).
func (g *Group[C]) unavailable(read bool, tried []*member[C], errs []error) error {
	what := "primary"
	switch {
	case read && g.cfg.StrictReads:
		what = "replica"
	case read:
		what = "replica or primary"
	}
	ms := *g.members.Load()
	all := append(make([]error, 0, len(errs)+len(ms)), errs...)
	for _, m := range ms {
		if !contains(tried, m) {
			all = append(all, fmt.Errorf("%s: %w", m.name, g.cannotServe(m, read)))
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("%w: group: no %s endpoint: the group has no endpoint", actorpool.ErrBackendUnavailable, what)
	}
	return fmt.Errorf("%w: group: no %s endpoint can serve: %w", actorpool.ErrBackendUnavailable, what, errors.Join(all...))
}

// cannotServe is why m, not tried, could not serve a request: its role is
// not known (with its pool's last dial error, else its last role check's
// error), its role is not the one wanted, or its pool fails fast (its last
// dial error).
func (g *Group[C]) cannotServe(m *member[C], read bool) error {
	st := m.pool.Stats()
	r := m.currentRole()
	switch {
	case r == backends.RoleUnknown:
		if err := st.LastDialError(); err != nil {
			return fmt.Errorf("%w: %w", errRoleNotKnown, err)
		}
		if err := m.checkError(); err != nil {
			return fmt.Errorf("%w: role check: %w", errRoleNotKnown, err)
		}
		return errRoleNotKnown
	case !read && r != backends.RolePrimary, read && g.cfg.StrictReads && r != backends.RoleReplica:
		return fmt.Errorf("is a %s", r)
	case st.CircuitOpen():
		if err := st.LastDialError(); err != nil {
			return err
		}
		return errFailingFast
	}
	return errNotPicked
}

// checkFailure is err, the error of a role check, as kept for cannotServe.
// A context error (the check's own timeout) is kept as text only, so that
// the group's error never matches context.DeadlineExceeded or
// context.Canceled unless the caller's context ended.
func checkFailure(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errors.New(err.Error())
	}
	return err
}
