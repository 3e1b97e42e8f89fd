package instrumentation

import (
	"slices"
	"testing"

	"github.com/activitylog/activitylog/schema"
)

// TestAuthActionsAreTheSchemasAuthEvents proves that the actions recorded
// under the Auth category by default are exactly the events the query
// service and the dashboards count as authentication, and that an
// application can record every one of them: an event added to one list and
// not the other would be recorded but missing from the auth views, or
// counted there but refused here.
func TestAuthActionsAreTheSchemasAuthEvents(t *testing.T) {
	for _, e := range schema.AuthEvents() {
		if !knownAction(Action(e)) {
			t.Errorf("got auth event %q refused by the recorder, want it recordable", e)
		}
	}
	for _, e := range schema.Events() {
		if got, want := Action(e).isAuth(), slices.Contains(schema.AuthEvents(), e); got != want {
			t.Errorf("%s: got isAuth %v, want %v (schema.AuthEvents)", e, got, want)
		}
	}
}
