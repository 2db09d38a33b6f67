// Package tig stands in for nerdctl's test-only tigron module, which the Go
// module proxy does not serve. nerdctl's command links it only through a test
// helper; this interface is the part that helper names.
package tig

// T is the subset of testing.TB the helper calls.
type T interface {
	Helper()
	Log(args ...any)
	Fail()
	FailNow()
}
