// Package isnil tells whether an interface value holds nil, typed or not:
// a constructor given a nil *Backend in a Backend interface refuses it with
// ErrInvalidConfig instead of panicking on its first call.
package isnil

import "reflect"

// Is reports whether v is nil, or holds a nil pointer, map, slice, channel,
// function or interface.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
