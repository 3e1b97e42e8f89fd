package setup

// CheckStreamRetentionPrivileges exposes checkStreamRetentionPrivileges to
// the external tests, which run it against a secured node whose
// integ-test-zip server cannot reach the branch of Install that calls it.
var CheckStreamRetentionPrivileges = checkStreamRetentionPrivileges
