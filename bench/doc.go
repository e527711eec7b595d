// Package bench holds side-by-side benchmarks of otelaudit components against
// their closest peers from opentelemetry-collector-contrib. It is a separate
// module so that contrib's dependency graph stays out of the main module.
package bench
