package httpmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/httpmw"
)

// Behind a load balancer at 10.0.0.0/8, the client is the rightmost address
// in X-Forwarded-For that is not one of the trusted proxies; whatever the
// client itself put further left is ignored.
func ExampleMiddleware() {
	handler := httpmw.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := instrumentation.RequestFrom(r.Context())
		fmt.Println(req.ClientAddress, req.UserAgent, req.ID)
	}), httpmw.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))

	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.RemoteAddr = "10.0.0.2:31337"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7")
	r.Header.Set("User-Agent", "LoyaltyApp/5.1")
	r.Header.Set("X-Request-Id", "req-42")
	handler.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// 203.0.113.7 LoyaltyApp/5.1 req-42
}
