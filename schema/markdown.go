package schema

import (
	"fmt"
	"strings"
)

//go:generate go test -run TestSchemaDocIsCurrent -update

// Markdown renders the schema as the document docs/schema.md, so the
// document and the mappings cannot drift apart: both come from Fields.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Activity record schema

<!-- Generated from schema/*.go by ` + "`go generate ./schema`" + `. Do not edit by hand. -->

Every activity record is an OpenTelemetry log record. Emitters (the Go library in ` + "`instrumentation/`" + `, or any
OTLP client) set the attributes below; the collector's ` + "`activity`" + ` processor redacts, tags the tenant and routes;
the contrib Elasticsearch exporter (otel mapping mode) writes one document per record into the data stream
` + "`" + DataStream("<namespace>") + "`" + ` (namespace ` + "`" + DefaultNamespace + "`" + ` unless configured).

- **EventName**: ` + "`activity.<event>`" + `, e.g. ` + "`" + EventName(EventLoginFailed) + "`" + `.
- **Body**: the plain-English description, e.g. "Jane Doe (Partner) updated reward 'Free coffee'" (` + "`body.text`" + `).
- **Severity**: INFO for successes, WARN for failures and alerts.
- **Document id**: ` + "`" + AttrID + "`" + ` (a UUIDv7 set at the source) becomes the Elasticsearch ` + "`_id`" + `, so a record
  sent twice (a retry) is stored once. The collector's activity processor sets it through the exporter's
  ` + "`" + AttrDocumentID + "`" + ` attribute, which our instrumentation library also sends (equal to ` + "`" + AttrID + "`" + `) so that the
  processor fills it in place; the exporter leaves that attribute out of the document. An emitter's id that is not a
  UUID (a database sequence number, unique only within its service and tenant) is kept in ` + "`" + AttrID + "`" + `, and the
  ` + "`_id`" + ` is then a hash of the tenant, the ` + "`service.name`" + ` and that id, so two tenants' record 17 are two documents.
- **Attribute names** follow OpenTelemetry semantic conventions where one exists (` + "`user.*`, `client.address`, `user_agent.original`" + `);
  everything else is in the single ` + "`activity.`" + ` namespace.
- **Unknown keys** are kept in ` + "`_source`" + ` but never mapped (the attribute objects are ` + "`dynamic: false`" + ` passthrough
  objects), so no emitter can cause a mapping explosion or a mapping conflict that rejects documents. Mapped keywords
  ignore values over 1024 characters, and ip, long and date fields ignore malformed values, instead of rejecting
  the document.
- Attributes are also searchable by their short name (` + "`activity.tenant.id`" + `) through the passthrough objects;
  programs should use the full path (` + "`attributes.activity.tenant.id`" + `).

## Fields

| Attribute | Elasticsearch field | Type | Meaning |
| --- | --- | --- | --- |
`)
	for _, f := range Fields() {
		attr := "(record)"
		if f.Attribute != "" {
			attr = "`" + f.Attribute + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", attr, f.Path, f.Type, strings.ReplaceAll(f.Description, "|", "\\|"))
	}
	b.WriteString("\n## Values\n\n")
	fmt.Fprintf(&b, "- **Categories** (`%s`): %s\n", AttrCategory, codeList(Categories()))
	fmt.Fprintf(&b, "- **Events** (`%s`): %s\n", AttrEvent, codeList(Events()))
	fmt.Fprintf(&b, "- **Actor types** (`%s`, `%s`): %s\n", AttrActorType, AttrUserRoles, codeList(ActorTypes()))
	fmt.Fprintf(&b, "- **Outcomes** (`%s`): %s\n", AttrOutcome, codeList([]string{OutcomeSuccess, OutcomeFailure}))
	fmt.Fprintf(&b, "- **Alert rules** (`%s`): %s\n", AttrAlertRule, codeList([]string{AlertRuleFailedLoginBurst}))
	fmt.Fprintf(&b, "- **Tenant ids** (`%s`) are stored trimmed, in lower case, in Unicode's composed form (NFC) and without invisible format characters (Cf), at most %d bytes (`NormalizeTenant`); the query service compares partners' tokens and the `tenant` filter the same way.\n", AttrTenantID, MaxTenantLen)
	fmt.Fprintf(&b, "- **Missing tenant**: the collector tags `%s` = `%s` (or drops the record, by configuration; an admin's record without a tenant, on the platform itself or across tenants, is never dropped). The value is reserved: a record that claims it counts as one without a tenant, and the query service refuses a partner token that names it (only admins read those records).\n", AttrTenantID, TenantUnknown)
	b.WriteString(`
## Changes

` + "`" + AttrChanges + "`" + ` maps each changed field to its old and new values; nested fields are dotted paths:

` + "```json" + `
{"status": {"old": "active", "new": "suspended"}, "address.city": {"old": "Leeds", "new": "York"},
 "pin": {"redacted": true}}
` + "```" + `

It is one ` + "`flattened`" + ` field, so any number of distinct field names costs one mapping entry; its leaves are
searchable as keywords (` + "`attributes.activity.changes.status.new: suspended`" + `). Fields whose names look like
credentials are never recorded; fields tagged ` + "`activity:\"redact\"`" + ` appear as ` + "`{\"redacted\": true}`" + `.
` + "`" + AttrChangedFields + "`" + ` lists every changed field name, redacted ones included.

## Retention

Where the cluster has ILM the backing indices carry the ILM policy ` + "`" + ILMPolicyName + "`" + ` (daily rollover, delete
` + "`<retention>`" + ` after rollover); elsewhere the index template carries a data stream lifecycle with
` + "`data_retention: <retention>`" + `. The retention is 365 days unless ` + "`activityctl setup -retention`" + ` says otherwise.
`)
	return b.String()
}

func codeList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "`" + s + "`"
	}
	return strings.Join(quoted, ", ")
}
