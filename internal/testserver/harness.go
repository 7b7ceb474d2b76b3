package testserver

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Harness lets the server harnesses run outside a test (the commands under
// cmd/; redisserver.StartDetached wraps it). It implements the testing.TB methods they call (Helper,
// TempDir, Cleanup, Fatalf); the embedded nil TB only satisfies the
// interface, and any other method would panic. Fatalf panics with a
// failure that Try turns back into an error.
type Harness struct {
	testing.TB
	name string // names its temp directories

	mu       sync.Mutex
	cleanups []func()
}

// NewHarness returns a harness whose temp directories start with name.
func NewHarness(name string) *Harness { return &Harness{name: name} }

type harnessFailure struct{ err error }

func (h *Harness) Helper() {}

func (h *Harness) Fatalf(format string, args ...any) {
	panic(harnessFailure{fmt.Errorf(format, args...)})
}

func (h *Harness) TempDir() string {
	dir, err := os.MkdirTemp("", h.name)
	if err != nil {
		h.Fatalf("%s: %v", h.name, err)
	}
	h.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (h *Harness) Cleanup(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cleanups = append(h.cleanups, f)
}

// Close runs the registered cleanups, last first, as testing does.
func (h *Harness) Close() {
	h.mu.Lock()
	fs := h.cleanups
	h.cleanups = nil
	h.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Try runs f, turning a harness Fatalf into an error.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			hf, ok := r.(harnessFailure)
			if !ok {
				panic(r)
			}
			err = hf.err
		}
	}()
	f()
	return nil
}
