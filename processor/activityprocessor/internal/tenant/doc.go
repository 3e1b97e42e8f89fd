// Package tenant derives the tenant of a log record from configured sources
// in priority order (record attributes, resource attributes, a static map
// from service name), normalises it (schema.NormalizeTenant), and reports
// when it is missing or when the sources disagree.
package tenant
