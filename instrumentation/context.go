package instrumentation

import "context"

// Context keys are unexported struct types so no other package can collide
// with or overwrite them.
type (
	actorKey   struct{}
	tenantKey  struct{}
	requestKey struct{}
)

// WithActor returns a copy of ctx carrying the actor every record made with
// it is attributed to. Authentication middleware sets it once per request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// WithTenant returns a copy of ctx carrying the partner business every record
// made with it belongs to.
func WithTenant(ctx context.Context, t Tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// TenantFrom returns the tenant carried by ctx, if any.
func TenantFrom(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(tenantKey{}).(Tenant)
	return t, ok
}

// WithRequest returns a copy of ctx carrying where the current request came
// from. The httpmw middleware sets it for every request.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request data carried by ctx, if any.
func RequestFrom(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(requestKey{}).(Request)
	return r, ok
}
