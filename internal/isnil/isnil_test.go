package isnil

import "testing"

type backend struct{}

func (*backend) Dial() {}

type dialer interface{ Dial() }

func TestIs(t *testing.T) {
	var nilPtr *backend
	var nilIface dialer
	var typedNil dialer = nilPtr
	cases := []struct {
		name string
		v    any
		want bool
	}{
		{"untyped nil", nil, true},
		{"nil interface", nilIface, true},
		{"typed nil in an interface", typedNil, true},
		{"nil map", map[string]int(nil), true},
		{"nil func", (func())(nil), true},
		{"a pointer", &backend{}, false},
		{"a value", backend{}, false},
		{"a number", 0, false},
	}
	for _, c := range cases {
		if got := Is(c.v); got != c.want {
			t.Errorf("%s: Is = %v, want %v", c.name, got, c.want)
		}
	}
}
