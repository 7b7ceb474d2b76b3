package budget

// The wire form of a member's state: a protobuf BytesValue (a well-known
// type, so no generated code) holding a version byte and varints.

import (
	"encoding/binary"
	"errors"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const wireVersion = 1

var errBadState = errors.New("budget: unreadable member state")

func encode(st peerState) *wrapperspb.BytesValue {
	b := []byte{wireVersion}
	left := int64(0)
	if st.Left {
		left = 1
	}
	for _, n := range []int64{int64(st.Budget), int64(st.Floor), int64(st.Demand), st.Version, int64(st.Claim), left} {
		b = binary.AppendVarint(b, n)
	}
	b = binary.LittleEndian.AppendUint64(b, st.View)
	return wrapperspb.Bytes(b)
}

func decode(a *anypb.Any) (peerState, error) {
	var v wrapperspb.BytesValue
	if a == nil || a.UnmarshalTo(&v) != nil || len(v.Value) == 0 || v.Value[0] != wireVersion {
		return peerState{}, errBadState
	}
	b := v.Value[1:]
	var f [6]int64
	for i := range f {
		n, k := binary.Varint(b)
		if k <= 0 {
			return peerState{}, errBadState
		}
		f[i], b = n, b[k:]
	}
	if len(b) != 8 {
		return peerState{}, errBadState
	}
	return peerState{
		Budget: int(f[0]), Floor: int(f[1]), Demand: int(f[2]), Version: f[3], Claim: int(f[4]),
		Left: f[5] == 1, View: binary.LittleEndian.Uint64(b),
	}, nil
}
