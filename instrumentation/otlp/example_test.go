package otlp_test

import (
	"context"
	"fmt"
	"time"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
)

// A service builds one provider at start-up and shuts it down on exit, so
// queued records are delivered. Here nothing listens on the endpoint: the
// record is still accepted at once and retried until Shutdown's deadline,
// then counted as lost.
func ExampleNewProvider() {
	ctx := context.Background()
	provider, err := otlp.NewProvider(ctx,
		otlp.WithProtocol(otlp.HTTP),
		otlp.WithEndpoint("http://127.0.0.1:1"), // plaintext, as the http:// scheme says
		otlp.WithServiceName("loyalty-api"),
		otlp.WithExportTimeout(100*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := instrumentation.New(provider)
	err = rec.LoginFailed(ctx, instrumentation.Actor{Name: "jane@example.com", Type: instrumentation.ActorPartner}, "invalid_password")
	fmt.Println("recording error:", err)

	// A real service might allow 10 s. (Over HTTP a refused connection fails
	// at once, so no attempt is still under way when the deadline passes:
	// one would be counted when it ends, possibly after Shutdown returns.)
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_ = provider.Shutdown(sctx)
	fmt.Println("lost:", provider.Dropped())
	// Output:
	// recording error: <nil>
	// lost: 1
}
