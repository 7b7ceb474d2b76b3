package actorpool

import (
	"fmt"
	"strings"

	"github.com/actorpool/actorpool/internal/ledger"
)

// Stats is a snapshot of a pool, read from its ledger at one instant:
// Total() == Idle() + Leased() + Dialing() always holds.
type Stats struct {
	s ledger.Snapshot
	c commandStats
}

// Total is the number of connection actors: idle, leased or dialling.
func (s Stats) Total() int { return s.s.Total }

// Idle is the number of connections ready to lend, or being pinged
// (keepalive, or a check before lending).
func (s Stats) Idle() int { return s.s.Idle }

// Leased is the number of leases out (a released connection counts until
// its reset is done).
func (s Stats) Leased() int { return s.s.Leased }

// Dialing is the number of connection actors without a connection: dialling,
// or waiting to redial after a failure.
func (s Stats) Dialing() int { return s.s.Dialing }

// Waiting is the number of callers queued for a connection.
func (s Stats) Waiting() int { return s.s.Waiting }

// MinConns is the lower limit in force.
func (s Stats) MinConns() int { return s.s.MinConns }

// MaxConns is the upper limit in force.
func (s Stats) MaxConns() int { return s.s.MaxConns }

// Acquired is the number of leases granted since start.
func (s Stats) Acquired() uint64 { return s.s.Acquired }

// Timeouts is the number of acquires that failed with an error matching
// ErrAcquireTimeout: those that waited their timeout out, and those shed
// (ErrOverloaded, counted in Shed too). Command mode's own requests for a
// connection are not callers' acquires and are not counted.
func (s Stats) Timeouts() uint64 { return s.s.Timeouts }

// FailedFast is the number of acquires that failed with
// ErrBackendUnavailable.
func (s Stats) FailedFast() uint64 { return s.s.FailedFast }

// Rejected is the number of acquires refused with ErrTooManyWaiters.
func (s Stats) Rejected() uint64 { return s.s.Rejected }

// Dials is the number of successful dials.
func (s Stats) Dials() uint64 { return s.s.Dials }

// DialErrors is the number of failed dials.
func (s Stats) DialErrors() uint64 { return s.s.DialErrors }

// Restarts is the number of connections that replaced an earlier one of the
// same connection actor.
func (s Stats) Restarts() uint64 { return s.s.Restarts }

// Broken is the number of leases whose connection was found unusable
// (MarkBroken, or a failed reset).
func (s Stats) Broken() uint64 { return s.s.Broken }

// Revoked is the number of leases revoked for LeaseTimeout or Close.
func (s Stats) Revoked() uint64 { return s.s.Revoked }

// Reclaimed is the number of leases taken back because the owner actor
// stopped.
func (s Stats) Reclaimed() uint64 { return s.s.Reclaimed }

// LeakWarnings is the number of leases reported held past LeakWarnAfter.
func (s Stats) LeakWarnings() uint64 { return s.s.LeakWarnings }

// LastDialError is the last dial error while no connection is alive, or nil.
func (s Stats) LastDialError() error { return s.s.LastDialError }

// RetiredIdle is the number of connections closed because they sat idle
// past IdleTimeout while the pool was above MinConns.
func (s Stats) RetiredIdle() uint64 { return s.s.RetiredIdle }

// RetiredLifetime is the number of connections closed because they reached
// MaxLifetime (less its jitter).
func (s Stats) RetiredLifetime() uint64 { return s.s.RetiredLifetime }

// FailedPings is the number of keepalive pings that failed; each such
// connection was closed and replaced before anyone leased it.
func (s Stats) FailedPings() uint64 { return s.s.FailedPings }

// FailedValidations is the number of pings before lending (after
// ValidateAfterIdle) that failed; each such connection was replaced and the
// caller served by another one.
func (s Stats) FailedValidations() uint64 { return s.s.FailedValidations }

// CircuitOpens is the number of times the pool lost its last live
// connection while dials were failing, so that Acquire started to fail fast
// with ErrBackendUnavailable.
func (s Stats) CircuitOpens() uint64 { return s.s.CircuitOpens }

// Overloads is the number of times overload control (QueueTarget) found
// the pool overloaded.
func (s Stats) Overloads() uint64 { return s.s.Overloads }

// Shed is the number of acquires failed with ErrOverloaded (counted in
// Timeouts too).
func (s Stats) Shed() uint64 { return s.s.Shed }

// CommandConns is the number of connections serving command mode (Do);
// they are counted in Leased too.
func (s Stats) CommandConns() int { return s.c.conns }

// CommandsInFlight is the number of commands handed to Do and not yet
// answered; a command whose caller gave up counts until its connection is
// done with it (its reply read, or, queued, skipped).
func (s Stats) CommandsInFlight() int { return s.c.inFlight }

// Commands is the number of commands written in command mode since start.
func (s Stats) Commands() uint64 { return s.c.commands }

// Batches is the number of batches written in command mode since start;
// Commands/Batches is the mean batch size.
func (s Stats) Batches() uint64 { return s.c.batches }

// CommandsDropped is the number of commands sent by message (Submit) that
// were dropped unwritten because their sender had stopped.
func (s Stats) CommandsDropped() uint64 { return s.c.dropped }

// CircuitOpen reports whether the circuit is open: no connection is alive
// and dials fail, so Acquire fails at once with ErrBackendUnavailable until
// a dial succeeds.
func (s Stats) CircuitOpen() bool { return s.s.CircuitOpen }

// String prints the snapshot on one line: the connections and waiters
// first, then the limits, then each counter that is not zero, then the
// command-mode figures when command mode ran. It is what %v and %+v print.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "total=%d idle=%d leased=%d dialing=%d waiting=%d limits=%d..%d",
		s.Total(), s.Idle(), s.Leased(), s.Dialing(), s.Waiting(), s.MinConns(), s.MaxConns())
	if s.CircuitOpen() {
		b.WriteString(" circuit=open")
	}
	for _, c := range []struct {
		name string
		n    uint64
	}{
		{"acquired", s.Acquired()}, {"timeouts", s.Timeouts()}, {"failed_fast", s.FailedFast()},
		{"rejected", s.Rejected()}, {"shed", s.Shed()}, {"overloads", s.Overloads()},
		{"dials", s.Dials()}, {"dial_errors", s.DialErrors()}, {"restarts", s.Restarts()},
		{"broken", s.Broken()}, {"revoked", s.Revoked()}, {"reclaimed", s.Reclaimed()},
		{"leak_warnings", s.LeakWarnings()}, {"retired_idle", s.RetiredIdle()},
		{"retired_lifetime", s.RetiredLifetime()}, {"failed_pings", s.FailedPings()},
		{"failed_validations", s.FailedValidations()}, {"circuit_opens", s.CircuitOpens()},
	} {
		if c.n != 0 {
			fmt.Fprintf(&b, " %s=%d", c.name, c.n)
		}
	}
	if s.Commands() != 0 || s.CommandConns() != 0 {
		fmt.Fprintf(&b, " command_conns=%d commands=%d batches=%d in_flight=%d",
			s.CommandConns(), s.Commands(), s.Batches(), s.CommandsInFlight())
		if s.CommandsDropped() != 0 {
			fmt.Fprintf(&b, " dropped=%d", s.CommandsDropped())
		}
	}
	if err := s.LastDialError(); err != nil {
		fmt.Fprintf(&b, " last_dial_error=%q", err.Error())
	}
	return b.String()
}
