// Package logtest is for tests: it keeps the OpenTelemetry log records an SDK
// LoggerProvider exports in memory, so a test can assert on exactly what an
// OTLP exporter would have been handed, after the SDK's attribute limits and
// de-duplication.
//
// NewProvider wires an Exporter to a LoggerProvider through the SDK's
// SimpleProcessor, so a record is visible as soon as the call that emitted it
// returns.
package logtest
