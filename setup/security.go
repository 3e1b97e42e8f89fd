package setup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/putrole"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"

	"github.com/activitylog/activitylog/schema"
)

// Names of the roles and users that make activity records read-only.
//
// Nothing but the superuser may change a record once written: the collector's
// user can only add documents, the query service's user can only read them,
// and neither role carries update, delete, index, write, manage or
// delete_index privileges.
const (
	// WriterRole may only add new documents to the activity data streams
	// (create_doc) and create a data stream on its first write (auto_configure).
	WriterRole = "activitylog_writer"
	// ReaderRole may only search the activity data streams and read their mappings.
	ReaderRole = "activitylog_reader"
	// AnalystRole may read the activity data streams and use Kibana read-only
	// (its base privilege "read" in every space): the security team's
	// day-to-day login, so that nobody needs the superuser to look at records.
	AnalystRole = "activitylog_analyst"
	// WriterUser is the collector's user; it holds WriterRole only.
	WriterUser = "activitylog_collector"
	// ReaderUser is the query service's user; it holds ReaderRole only.
	ReaderUser = "activitylog_querysvc"
	// AnalystUser is the security team's Kibana user; it holds AnalystRole
	// only. It is created when EnvAnalystPassword is set.
	AnalystUser = "activitylog_analyst"
	// KibanaApplication is the application Kibana's privileges belong to.
	KibanaApplication = "kibana-.kibana"

	// EnvWriterPassword names the environment variable holding WriterUser's password.
	EnvWriterPassword = "ACTIVITYLOG_WRITER_PASSWORD"
	// EnvReaderPassword names the environment variable holding ReaderUser's password.
	EnvReaderPassword = "ACTIVITYLOG_READER_PASSWORD"
	// EnvAnalystPassword names the environment variable holding
	// AnalystUser's password. Optional: without it the user is not created.
	EnvAnalystPassword = "ACTIVITYLOG_ANALYST_PASSWORD"
	// EnvKibanaSystemPassword names the environment variable holding the
	// password to give Elasticsearch's built-in kibana_system user, which
	// Kibana connects as. Optional.
	EnvKibanaSystemPassword = "KIBANA_SYSTEM_PASSWORD"
	// KibanaSystemUser is the built-in user Kibana connects to Elasticsearch as.
	KibanaSystemUser = "kibana_system"

	// MinPasswordLength is the shortest password InstallSecurity accepts.
	// Elasticsearch itself accepts six characters; these users guard an
	// audit trail, so setup asks for more.
	MinPasswordLength = 12
)

// ErrWeakPassword is returned when a user's password is missing or shorter
// than MinPasswordLength.
var ErrWeakPassword = errors.New("password missing or too short")

// SecurityConfig holds the passwords of the users InstallSecurity creates.
// There are no defaults: a missing password fails closed with ErrWeakPassword.
type SecurityConfig struct {
	// WriterPassword is WriterUser's password (env EnvWriterPassword).
	WriterPassword string
	// ReaderPassword is ReaderUser's password (env EnvReaderPassword).
	ReaderPassword string
	// AnalystPassword, when not empty, is AnalystUser's password (env
	// EnvAnalystPassword). Empty creates no analyst user (the role still is).
	AnalystPassword string
	// KibanaSystemPassword, when not empty, is set as the password of the
	// built-in kibana_system user (env EnvKibanaSystemPassword), so a new
	// cluster's Kibana can connect. Empty leaves kibana_system alone.
	KibanaSystemPassword string
}

// SecurityConfigFromEnv reads the passwords from the environment through getenv.
func SecurityConfigFromEnv(getenv func(string) string) SecurityConfig {
	return SecurityConfig{
		WriterPassword:       getenv(EnvWriterPassword),
		ReaderPassword:       getenv(EnvReaderPassword),
		AnalystPassword:      getenv(EnvAnalystPassword),
		KibanaSystemPassword: getenv(EnvKibanaSystemPassword),
	}
}

// placeholder starts the passwords of .env.example, which must be replaced.
const placeholder = "change-me"

// Validate reports whether the writer's and reader's passwords are set, and
// whether every password given is long enough, not a .env.example
// placeholder, and different from the others.
func (c SecurityConfig) Validate() error {
	for _, p := range []struct {
		env, value string
		required   bool
	}{
		{EnvWriterPassword, c.WriterPassword, true},
		{EnvReaderPassword, c.ReaderPassword, true},
		{EnvAnalystPassword, c.AnalystPassword, false},
		{EnvKibanaSystemPassword, c.KibanaSystemPassword, false},
	} {
		switch {
		case p.value == "" && !p.required:
		case len(p.value) < MinPasswordLength:
			return fmt.Errorf("%s: %w (at least %d characters)", p.env, ErrWeakPassword, MinPasswordLength)
		case strings.HasPrefix(strings.ToLower(p.value), placeholder):
			return fmt.Errorf("%s: %w (still the .env.example placeholder: generate one, e.g. openssl rand -base64 24)", p.env, ErrWeakPassword)
		}
	}
	seen := map[string]string{}
	for _, p := range []struct{ env, value string }{
		{EnvWriterPassword, c.WriterPassword}, {EnvReaderPassword, c.ReaderPassword}, {EnvAnalystPassword, c.AnalystPassword},
		// kibana_system may change every logs-* stream's lifecycle: sharing
		// its password would give another user that power.
		{EnvKibanaSystemPassword, c.KibanaSystemPassword},
	} {
		if p.value == "" {
			continue
		}
		if other, ok := seen[p.value]; ok {
			return fmt.Errorf("%s and %s must differ: %w", other, p.env, ErrWeakPassword)
		}
		seen[p.value] = p.env
	}
	return nil
}

// Roles returns the role descriptors by role name. The same descriptors are
// installed through the security API by InstallSecurity, or written to a
// file-realm roles.yml by RolesFile.
func Roles() map[string]types.RoleDescriptor {
	writerDescription := "activitylog collector: may only add new activity records, never change or delete them."
	readerDescription := "activitylog query service: may only read activity records."
	writer := types.RoleDescriptor{
		Description: &writerDescription,
		Indices: []types.IndicesPrivileges{{
			Names:      []string{schema.IndexPattern},
			Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Createdoc, indexprivilege.Autoconfigure},
		}},
	}
	reader := types.RoleDescriptor{
		Description: &readerDescription,
		Indices: []types.IndicesPrivileges{{
			Names:      []string{schema.IndexPattern},
			Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read, indexprivilege.Viewindexmetadata},
		}},
	}
	analystDescription := "activitylog security team: may read activity records, and use Kibana read-only."
	analyst := types.RoleDescriptor{
		Description: &analystDescription,
		Indices: []types.IndicesPrivileges{{
			Names:      []string{schema.IndexPattern},
			Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read, indexprivilege.Viewindexmetadata},
		}},
		// Kibana's base privilege "read" in every space: dashboards,
		// Discover and saved objects, read-only. What a Kibana feature
		// reads in Elasticsearch is still limited to the indices above.
		Applications: []types.ApplicationPrivileges{{
			Application: KibanaApplication,
			Privileges:  []string{"read"},
			Resources:   []string{"*"},
		}},
	}
	return map[string]types.RoleDescriptor{
		WriterRole:  withRoleChecksum(writer),
		ReaderRole:  withRoleChecksum(reader),
		AnalystRole: withRoleChecksum(analyst),
	}
}

// RolesFile returns Roles in the form of a file-realm roles.yml, for
// clusters where the native realm cannot be used (a node without its
// .security index, or an operator who manages roles as files). Elasticsearch
// reads that file one top-level key per line, so each role is written as
// "name: {json}", a YAML flow mapping.
func RolesFile() ([]byte, error) {
	roles := Roles()
	var b bytes.Buffer
	b.WriteString("# activitylog roles, generated by setup.RolesFile; do not edit.\n")
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		j, err := json.Marshal(roles[name])
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", name, err)
		}
		fmt.Fprintf(&b, "%s: %s\n", name, j)
	}
	return b.Bytes(), nil
}

// User is one user InstallSecurity manages.
type User struct {
	// Name is the user name.
	Name string
	// Roles are the roles the user holds, and no others.
	Roles []string
	// FullName describes what the user is for.
	FullName string
	// Password is the user's password.
	Password string
}

// Users returns the users for c's passwords.
func Users(c SecurityConfig) []User {
	users := []User{
		{Name: WriterUser, Roles: []string{WriterRole}, FullName: "activitylog collector", Password: c.WriterPassword},
		{Name: ReaderUser, Roles: []string{ReaderRole}, FullName: "activitylog query service", Password: c.ReaderPassword},
	}
	if c.AnalystPassword != "" {
		users = append(users, User{Name: AnalystUser, Roles: []string{AnalystRole}, FullName: "activitylog security team (Kibana, read-only)", Password: c.AnalystPassword})
	}
	return users
}

// InstallSecurity creates or updates the roles of Roles and the users of
// Users through the Elasticsearch security API and returns what it did, one
// Change per role and user. It is idempotent: a role whose metadata checksum
// and grants match, and an enabled user with the same roles whose password still
// authenticates, are left alone. A user an administrator disabled is left
// disabled and untouched (LeftDisabled), even when its password changes. es
// must authenticate as a user with the manage_security cluster privilege.
func InstallSecurity(ctx context.Context, es *elasticsearch.TypedClient, c SecurityConfig) ([]Change, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var changes []Change
	roles := Roles()
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		change, err := installRole(ctx, es, name, roles[name])
		if err != nil {
			return changes, err
		}
		changes = append(changes, change)
	}
	for _, u := range Users(c) {
		change, err := installUser(ctx, es, u)
		if err != nil {
			return changes, err
		}
		changes = append(changes, change)
	}
	if c.KibanaSystemPassword != "" {
		change, err := setBuiltinPassword(ctx, es, KibanaSystemUser, c.KibanaSystemPassword)
		if err != nil {
			return changes, err
		}
		changes = append(changes, change)
	}
	return changes, nil
}

// setBuiltinPassword sets the password of a built-in user unless it
// already authenticates with it.
func setBuiltinPassword(ctx context.Context, es *elasticsearch.TypedClient, user, password string) (Change, error) {
	change := Change{Kind: "user password", Name: user, Action: Unchanged}
	if authenticates(ctx, es, user, password) {
		return change, nil
	}
	if _, err := es.Security.ChangePassword().Username(user).Password(password).Do(ctx); err != nil {
		return change, fmt.Errorf("set password of %s: %w", user, err)
	}
	change.Action = Updated
	return change, nil
}

func installRole(ctx context.Context, es *elasticsearch.TypedClient, name string, want types.RoleDescriptor) (Change, error) {
	change := Change{Kind: "role", Name: name}
	resp, err := es.Security.GetRole().Name(name).Do(ctx)
	if err != nil && !isNotFound(err) {
		return change, fmt.Errorf("get role %s: %w", name, err)
	}
	have, found := resp[name]
	change.Action = decide(found, schema.Checksum(have.Metadata), schema.Checksum(want.Metadata))
	// The checksum only says which descriptor setup meant to install. A
	// role whose grants differ from it (edited by hand with its metadata
	// kept, or installed by an earlier setup that left the analyst's Kibana
	// privilege out) is put again, so setup always converges on Roles.
	if change.Action == Unchanged && grants(have.Cluster, have.Indices, have.Applications, have.RunAs) != grants(want.Cluster, want.Indices, want.Applications, want.RunAs) {
		change.Action = Updated
	}
	if change.Action == Unchanged {
		return change, nil
	}
	_, err = es.Security.PutRole(name).Request(&putrole.Request{
		Applications: want.Applications,
		Cluster:      want.Cluster,
		Description:  want.Description,
		Indices:      want.Indices,
		Metadata:     want.Metadata,
		RunAs:        want.RunAs,
	}).Do(ctx)
	if err != nil {
		return change, fmt.Errorf("put role %s: %w", name, err)
	}
	return change, nil
}

// grants returns what a role allows in a form that does not depend on the
// order Elasticsearch lists names and privileges in, nor on whether it spells
// out defaults, so an installed role can be compared with its descriptor.
func grants(cluster []clusterprivilege.ClusterPrivilege, indices []types.IndicesPrivileges, apps []types.ApplicationPrivileges, runAs []string) string {
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
	type index struct {
		Names, Privileges []string
		Restricted        bool
		FieldSecurity     *types.FieldSecurity
		Query             types.IndicesPrivilegesQuery
	}
	type app struct{ Application, Privileges, Resources any }
	var g struct {
		Cluster, RunAs []string
		Indices        []index
		Apps           []app
	}
	for _, c := range cluster {
		g.Cluster = append(g.Cluster, c.Name)
	}
	g.Cluster, g.RunAs = sorted(g.Cluster), sorted(runAs)
	for _, ip := range indices {
		var privileges []string
		for _, p := range ip.Privileges {
			privileges = append(privileges, p.Name)
		}
		g.Indices = append(g.Indices, index{sorted(ip.Names), sorted(privileges),
			ip.AllowRestrictedIndices != nil && *ip.AllowRestrictedIndices, ip.FieldSecurity, ip.Query})
	}
	for _, a := range apps {
		g.Apps = append(g.Apps, app{a.Application, sorted(a.Privileges), sorted(a.Resources)})
	}
	b, err := json.Marshal(g)
	if err != nil {
		// Only an installed role's query can fail to marshal (Roles
		// has none), and then it compares as different from Roles: setup
		// puts the role again, which is safe.
		return err.Error()
	}
	return string(b)
}

func installUser(ctx context.Context, es *elasticsearch.TypedClient, u User) (Change, error) {
	change := Change{Kind: "user", Name: u.Name, Action: Created}
	resp, err := es.Security.GetUser().Username(u.Name).Do(ctx)
	if err != nil && !isNotFound(err) {
		return change, fmt.Errorf("get user %s: %w", u.Name, err)
	}
	if have, found := resp[u.Name]; found {
		if !have.Enabled {
			// Disabled by an administrator (after a leaked password, say):
			// enabling it again is theirs to decide, not a re-run's.
			change.Action = LeftDisabled
			return change, nil
		}
		change.Action = Updated
		if slices.Equal(have.Roles, u.Roles) && authenticates(ctx, es, u.Name, u.Password) {
			change.Action = Unchanged
			return change, nil
		}
	}
	_, err = es.Security.PutUser(u.Name).
		Roles(u.Roles...).
		FullName(u.FullName).
		Enabled(true).
		Password(u.Password).
		Metadata(managedRoleMeta()).
		Do(ctx)
	if err != nil {
		return change, fmt.Errorf("put user %s: %w", u.Name, err)
	}
	return change, nil
}

// authenticates reports whether name/password authenticate, by calling
// _security/_authenticate with an Authorization header that replaces the
// client's own credentials for this one request.
func authenticates(ctx context.Context, es *elasticsearch.TypedClient, name, password string) bool {
	ok, err := es.Security.Authenticate().Header("Authorization", BasicAuth(name, password)).IsSuccess(ctx)
	return err == nil && ok
}

// BasicAuth returns the value of an HTTP Authorization header for name and password.
func BasicAuth(name, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))
}

func managedRoleMeta() types.Metadata {
	return types.Metadata{schema.MetaManagedBy: json.RawMessage(`"activitylog"`)}
}

// withRoleChecksum records in the role's metadata a checksum of the role, so
// a later run can tell an installed role that matches from one to update.
func withRoleChecksum(r types.RoleDescriptor) types.RoleDescriptor {
	r.Metadata = managedRoleMeta()
	b, err := json.Marshal(r)
	if err != nil {
		// A RoleDescriptor built from the literals above always marshals; an
		// empty checksum would only make setup rewrite the role.
		b = nil
	}
	sum := sha256.Sum256(b)
	r.Metadata[schema.MetaChecksum] = json.RawMessage(`"` + hex.EncodeToString(sum[:16]) + `"`)
	return r
}
