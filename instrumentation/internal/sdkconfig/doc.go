// Package sdkconfig holds the OpenTelemetry log SDK options that
// otlp.NewProvider gives every provider it builds, besides its resource and
// processor, so that the instrumentation benchmarks and tests build their
// providers the way services get them and the two cannot drift apart.
package sdkconfig
