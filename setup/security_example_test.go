package setup_test

import (
	"fmt"
	"slices"

	"github.com/activitylog/activitylog/setup"
)

// The privileges each activitylog role holds on the activity data streams.
func ExampleRoles() {
	roles := setup.Roles()
	for _, name := range []string{setup.WriterRole, setup.ReaderRole} {
		for _, ip := range roles[name].Indices {
			var privileges []string
			for _, p := range ip.Privileges {
				privileges = append(privileges, p.Name)
			}
			slices.Sort(privileges)
			fmt.Println(name, ip.Names, privileges)
		}
	}
	// Output:
	// activitylog_writer [logs-activity.otel-*] [auto_configure create_doc]
	// activitylog_reader [logs-activity.otel-*] [read view_index_metadata]
}

// A missing password fails closed.
func ExampleSecurityConfig_Validate() {
	err := setup.SecurityConfig{WriterPassword: "a-long-writer-password"}.Validate()
	fmt.Println(err)
	// Output:
	// ACTIVITYLOG_READER_PASSWORD: password missing or too short (at least 12 characters)
}
