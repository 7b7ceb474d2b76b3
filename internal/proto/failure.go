package proto

import (
	"errors"
	"fmt"
)

// FailureKind says why a connection actor crashed. The supervisor's decider
// tells the broker which kind it was; the broker decides when to redial.
type FailureKind int

const (
	// DialFailed: the backend's Dial returned an error. The broker's
	// dialer redials it after its backoff (actors/dialer.go).
	DialFailed FailureKind = iota + 1
	// ConnLost: a live connection became unusable (marked broken, failed
	// reset or ping, revoked). Restarted at once: a new dial.
	ConnLost
)

func (k FailureKind) String() string {
	switch k {
	case DialFailed:
		return "dial failed"
	case ConnLost:
		return "connection lost"
	default:
		return fmt.Sprintf("failure(%d)", int(k))
	}
}

// Failure is the reason a connection actor panics with, so that protoactor's
// supervision hands it to the pool's supervisor.
type Failure struct {
	Kind FailureKind
	Err  error
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return "actorpool: " + f.Kind.String()
	}
	return "actorpool: " + f.Kind.String() + ": " + f.Err.Error()
}

func (f *Failure) Unwrap() error { return f.Err }

// AsFailure extracts a *Failure from a panic reason.
func AsFailure(reason any) (*Failure, bool) {
	err, ok := reason.(error)
	if !ok {
		return nil, false
	}
	var f *Failure
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}
