package sdkconfig

import sdklog "go.opentelemetry.io/otel/sdk/log"

// ProviderOptions returns the SDK options of a provider that carries
// activity records. It is a new slice on every call, so a caller may append
// to it.
//
// It turns off the SDK's key de-duplication (sdklog.WithAllowKeyDuplication).
// The SDK de-duplicates by adding a record's attributes one at a time and, on
// each addition, indexing all those already added in a map, which costs most
// of an emit on a record of 15 to 20 attributes. instrumentation.Recorder
// emits records whose keys are unique at every level, so for its records the
// work is wasted; any other record emitted through such a provider is sent
// with whatever keys its caller gave it, repeats included.
//
// It cuts string values in attributes, at any depth, to ValueLengthLimit
// characters (otlp.DefaultValueLengthLimit says why); a later
// sdklog.WithAttributeValueLengthLimit replaces the limit.
func ProviderOptions() []sdklog.LoggerProviderOption {
	return []sdklog.LoggerProviderOption{sdklog.WithAllowKeyDuplication(), sdklog.WithAttributeValueLengthLimit(ValueLengthLimit)}
}

// ValueLengthLimit is otlp.DefaultValueLengthLimit.
const ValueLengthLimit = 32 << 10
