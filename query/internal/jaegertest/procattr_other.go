//go:build !unix

package jaegertest

import "syscall"

// procAttr leaves Jaeger in the test's process group where there are no
// Unix process groups.
func procAttr() *syscall.SysProcAttr { return nil }
