//go:build unix

package jaegertest

import "syscall"

// procAttr puts Jaeger in a process group of its own, so that a signal
// meant for the test run does not reach it before Stop does.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
