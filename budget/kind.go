package budget

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// Kind is the cluster kind that marks a member as taking part in the
// budget name: give it to cluster.Configure (cluster.WithKinds) on every
// member whose pool joins that budget. The membership then tells every
// member who shares the budget, including members that have not joined
// yet: their part is kept for them, and nobody grows until they have
// published. Members without the kind are not counted. No grain of the
// kind is ever activated.
func Kind(name string) *cluster.Kind {
	return cluster.NewKind(kindName(name), actor.PropsFromFunc(func(actor.Context) {}))
}

func kindName(name string) string { return "actorpool/budget/" + name }

// sharing returns the IDs of the members that carry kind.
func sharing(ms []*cluster.Member, kind string) []string {
	var ids []string
	for _, m := range ms {
		if slices.Contains(m.Kinds, kind) {
			ids = append(ids, m.Id)
		}
	}
	return ids
}
