package redact_test

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/redact"
)

func ExampleRedactor_Attributes() {
	r, err := redact.New(redact.Config{
		KeyPatterns: []string{"password"},
		Detectors:   map[redact.Rule]redact.Action{redact.RuleBearer: redact.ActionMask, redact.RuleCard: redact.ActionMask},
	})
	if err != nil {
		panic(err)
	}
	attrs := pcommon.NewMap()
	attrs.PutStr("newPassword", "hunter2")
	attrs.PutStr("note", "Authorization: Bearer abcdef0123456789, card 4111 1111 1111 1111, order 4111111111111112")
	var rep redact.Report
	r.Attributes(attrs, "", true, &rep)
	for k, v := range attrs.All() {
		fmt.Printf("%s = %s\n", k, v.Str())
	}
	fmt.Println("redacted:", rep.Paths())
	// Output:
	// newPassword = [REDACTED]
	// note = Authorization: Bearer [REDACTED], card [REDACTED], order 4111111111111112
	// redacted: [newPassword note]
}
